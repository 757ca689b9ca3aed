<?php
/**
 * The compatibility scenario (test/compat/README.md) with PHP: `php compat.php mysqli|pdo-native|pdo-emulated`.
 * mysqli: real_escape_string for text, prepare/bind_param/send_long_data for server-side prepared statements,
 * multi_query, ping, change_user, stat. PDO: quote() for text, prepare/execute with ATTR_EMULATE_PREPARES off
 * (server-side) or on (client-side), nextRowset, ATTR_SERVER_INFO (COM_STATISTICS).
 * Prints one JSON line per check.
 */
declare(strict_types=1);

$mode = $argv[1] ?? '';
if (!in_array($mode, ['mysqli', 'pdo-native', 'pdo-emulated'], true)) {
    fwrite(STDERR, "usage: php compat.php mysqli|pdo-native|pdo-emulated\n");
    exit(2);
}

function env(string $name): string
{
    $value = getenv($name);
    if ($value === false) throw new RuntimeException("$name is not set");
    return $value;
}

function emit(array $line): void
{
    echo json_encode(['client' => env('COMPAT_CLIENT')] + $line, JSON_UNESCAPED_SLASHES), "\n";
    flush();
}

function check(string $name, callable $body): void
{
    try {
        $detail = $body();
        emit(['check' => $name, 'ok' => true] + ($detail === null ? [] : ['detail' => (string) $detail]));
    } catch (Throwable $e) {
        emit(['check' => $name, 'ok' => false, 'detail' => describe($e)]);
    }
}

function describe(Throwable $e): string
{
    $code = errorCode($e);
    return ($code ? "ERROR $code: " : get_class($e) . ': ') . $e->getMessage();
}

/** The server's error number of a mysqli or PDO exception (PDO keeps it in errorInfo[1]). */
function errorCode(Throwable $e): int
{
    if ($e instanceof PDOException) return (int) ($e->errorInfo[1] ?? 0);
    if ($e instanceof mysqli_sql_exception) return $e->getCode();
    return 0;
}

function equal($actual, $expected, string $what): void
{
    if ($actual !== $expected) {
        throw new RuntimeException("$what: expected " . json_encode($expected) . ', got ' . json_encode($actual));
    }
}

/** The same steps over mysqli or PDO. Values come back as strings or null, whatever the protocol. */
interface Db
{
    public function exec(string $sql): void;
    /** Rows of a text-protocol statement whose ? are replaced by the client's quoting of $params. */
    public function rows(string $sql, array $params = []): array;
    /** Rows of a prepared statement (server-side for mysqli and pdo-native). */
    public function prepared(string $sql, array $params, ?int $blobParam = null): array;
    /** Every result set of a statement (CALL; several statements when $multiStatement). */
    public function resultSets(string $sql, bool $multiStatement = false): array;
    public function begin(): void;
    public function commit(): void;
    public function rollback(): void;
    public function close(): void;
}

function stringsOf(array $rows): array
{
    return array_map(fn ($row) => array_map(fn ($v) => $v === null ? null : (string) $v, $row), $rows);
}

/** Replaces each ? with a quoted literal. */
function bindLiterals(string $sql, array $params, callable $quote): string
{
    $parts = explode('?', $sql);
    $out = array_shift($parts);
    foreach ($parts as $i => $part) {
        $value = $params[$i];
        $out .= ($value === null ? 'NULL' : (is_int($value) ? (string) $value : $quote((string) $value))) . $part;
    }
    return $out;
}

final class MysqliDb implements Db
{
    public mysqli $db;

    public function __construct()
    {
        mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
        $this->db = new mysqli(env('COMPAT_HOST'), env('COMPAT_USER'), env('COMPAT_PASSWORD'), env('COMPAT_DATABASE'), (int) env('COMPAT_PORT'));
        $this->db->set_charset('utf8mb4'); // SET NAMES utf8mb4, before any library
    }

    public function exec(string $sql): void
    {
        $this->db->query($sql);
    }

    public function rows(string $sql, array $params = []): array
    {
        $sql = bindLiterals($sql, $params, fn ($s) => "'" . $this->db->real_escape_string($s) . "'");
        $result = $this->db->query($sql);
        return $result === true ? [] : stringsOf($result->fetch_all(MYSQLI_ASSOC));
    }

    public function prepared(string $sql, array $params, ?int $blobParam = null): array
    {
        $statement = $this->db->prepare($sql);
        $types = '';
        $values = $params;
        foreach ($params as $i => $value) {
            $types .= $i === $blobParam ? 'b' : (is_int($value) ? 'i' : 's');
            if ($i === $blobParam) $values[$i] = null;
        }
        if ($params) $statement->bind_param($types, ...$values);
        if ($blobParam !== null) $statement->send_long_data($blobParam, $params[$blobParam]); // COM_STMT_SEND_LONG_DATA
        $statement->execute();
        $result = $statement->get_result();
        $rows = $result === false ? [] : stringsOf($result->fetch_all(MYSQLI_ASSOC));
        $statement->close();
        return $rows;
    }

    public function resultSets(string $sql, bool $multiStatement = false): array
    {
        $sets = [];
        $this->db->multi_query($sql);
        do {
            $result = $this->db->store_result();
            if ($result) $sets[] = stringsOf($result->fetch_all(MYSQLI_NUM));
        } while ($this->db->more_results() && $this->db->next_result());
        return $sets;
    }

    public function begin(): void { $this->db->begin_transaction(); }
    public function commit(): void { $this->db->commit(); }
    public function rollback(): void { $this->db->rollback(); }
    public function close(): void { $this->db->close(); }
}

final class PdoDb implements Db
{
    public ?PDO $pdo;

    public function __construct(bool $emulate)
    {
        $dsn = sprintf('mysql:host=%s;port=%s;dbname=%s;charset=utf8mb4', env('COMPAT_HOST'), env('COMPAT_PORT'), env('COMPAT_DATABASE'));
        $this->pdo = new PDO($dsn, env('COMPAT_USER'), env('COMPAT_PASSWORD'), [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_EMULATE_PREPARES => $emulate,
            PDO::MYSQL_ATTR_MULTI_STATEMENTS => true,
            PDO::ATTR_STRINGIFY_FETCHES => true,
        ]);
    }

    public function exec(string $sql): void
    {
        $this->pdo->exec($sql);
    }

    public function rows(string $sql, array $params = []): array
    {
        $statement = $this->pdo->query(bindLiterals($sql, $params, fn ($s) => $this->pdo->quote($s)));
        $rows = $statement->columnCount() > 0 ? $statement->fetchAll(PDO::FETCH_ASSOC) : [];
        $statement->closeCursor();
        return stringsOf($rows);
    }

    public function prepared(string $sql, array $params, ?int $blobParam = null): array
    {
        $statement = $this->pdo->prepare($sql);
        foreach ($params as $i => $value) {
            $type = $i === $blobParam ? PDO::PARAM_LOB : ($value === null ? PDO::PARAM_NULL : (is_int($value) ? PDO::PARAM_INT : PDO::PARAM_STR));
            $statement->bindValue($i + 1, $value, $type);
        }
        $statement->execute();
        $rows = $statement->columnCount() > 0 ? $statement->fetchAll(PDO::FETCH_ASSOC) : [];
        $statement->closeCursor();
        return stringsOf($rows);
    }

    public function resultSets(string $sql, bool $multiStatement = false): array
    {
        // The server cannot prepare several statements at once: PDO needs emulated prepares for multi-statements.
        $native = !$this->pdo->getAttribute(PDO::ATTR_EMULATE_PREPARES);
        if ($multiStatement && $native) $this->pdo->setAttribute(PDO::ATTR_EMULATE_PREPARES, true);
        try {
            $sets = [];
            $statement = $this->pdo->query($sql);
            do {
                if ($statement->columnCount() > 0) $sets[] = stringsOf($statement->fetchAll(PDO::FETCH_NUM));
            } while ($statement->nextRowset());
            $statement->closeCursor();
            return $sets;
        } finally {
            if ($multiStatement && $native) $this->pdo->setAttribute(PDO::ATTR_EMULATE_PREPARES, false);
        }
    }

    public function begin(): void { $this->pdo->beginTransaction(); }
    public function commit(): void { $this->pdo->commit(); }
    public function rollback(): void { $this->pdo->rollBack(); }
    public function close(): void { $this->pdo = null; } // the destructor sends COM_QUIT
}

$connect = fn (): Db => $mode === 'mysqli' ? new MysqliDb() : new PdoDb($mode === 'pdo-emulated');
$version = $mode === 'mysqli'
    ? 'PHP ' . PHP_VERSION . ' mysqli (' . mysqli_get_client_info() . ')'
    : 'PHP ' . PHP_VERSION . ' PDO_MySQL ' . phpversion('pdo_mysql') . ($mode === 'pdo-native' ? ' (native prepares)' : ' (emulated prepares)');
emit(['version' => $version]);

$settings = fn (Db $db) => json_encode($db->rows(env('COMPAT_SQL_SETTINGS'))[0] ?? null);
$showLibrary = fn (Db $db) => $db->rows('show library')[0] ?? throw new RuntimeException('show library gave no row');
$items = env('COMPAT_TABLE_ITEMS');
/** @var Db $a */
$a = null;
$before = '';
$library = '';

check('connect', function () use (&$a, &$before, $connect, $settings) {
    $a = $connect();
    $a->exec("SET time_zone = '" . env('COMPAT_TIME_ZONE') . "'");
    $before = $settings($a);
});

check('lobby-refuses-data', function () use (&$a) {
    try {
        $a->rows(env('COMPAT_SQL_LOBBY_DATA'));
        throw new RuntimeException('expected error 7101, the statement succeeded');
    } catch (mysqli_sql_exception | PDOException $e) {
        equal(errorCode($e), 7101, 'error code');
    }
    equal($a->rows('SELECT 1 AS one')[0]['one'], '1', 'SELECT 1 afterwards');
});

check('select-library', function () use (&$a, &$library, $showLibrary) {
    $a->exec('select library ' . env('COMPAT_KEY'));
    $shown = $showLibrary($a);
    equal($shown['key'], env('COMPAT_KEY'), 'show library key');
    $library = $shown['library'];
    $port = $a->rows('SELECT @@port AS port')[0]['port'];
    equal($port, substr($shown['server'], strrpos($shown['server'], ':') + 1), '@@port against show library server');
    return "{$shown['library']} {$shown['server']}";
});

check('lobby-settings', function () use (&$a, &$before, $settings) {
    $after = $settings($a);
    equal($after, $before, 'settings after select library');
    equal(json_decode($after, true)['time_zone'], env('COMPAT_TIME_ZONE'), 'time_zone');
});

if ($mode === 'mysqli') {
    check('connect-chatter', function () use (&$a) {
        // mysqli::set_charset('utf8mb4') sent SET NAMES before the library was chosen.
        $row = $a->rows(env('COMPAT_SQL_SETTINGS'))[0];
        equal([$row['character_set_client'], $row['character_set_connection'], $row['character_set_results']], ['utf8mb4', 'utf8mb4', 'utf8mb4'], 'character sets');
    });
}

check('ddl', function () use (&$a) {
    foreach (explode("\n", env('COMPAT_SQL_DDL')) as $statement) $a->exec($statement);
});

$item = fn (int $id) => $a->rows(env('COMPAT_SQL_SELECT_ITEM'), [$id])[0] ?? throw new RuntimeException("row $id missing");

check('text-utf8mb4', function () use (&$a, $item) {
    $a->rows(env('COMPAT_SQL_INSERT_ITEM'), [1, env('COMPAT_TEXT_EMOJI'), null, '1.50']);
    $a->rows(env('COMPAT_SQL_INSERT_ITEM'), [2, env('COMPAT_TEXT_CJK'), env('COMPAT_TEXT_NOTE'), null]);
    $one = $item(1);
    $two = $item(2);
    equal($one['label'], env('COMPAT_TEXT_EMOJI'), 'emoji label');
    equal($one['label_hex'], env('COMPAT_TEXT_EMOJI_HEX'), 'emoji HEX(label)');
    equal($two['label'], env('COMPAT_TEXT_CJK'), 'CJK label');
    equal($two['label_hex'], env('COMPAT_TEXT_CJK_HEX'), 'CJK HEX(label)');
});

check('null-values', function () use ($item) {
    $one = $item(1);
    $two = $item(2);
    equal($one['note'], null, 'row 1 note');
    equal($one['amount'], '1.50', 'row 1 amount');
    equal($two['note'], env('COMPAT_TEXT_NOTE'), 'row 2 note');
    equal($two['amount'], null, 'row 2 amount');
});

check($mode === 'pdo-emulated' ? 'emulated-prepared' : 'prepared', function () use (&$a) {
    $a->prepared(env('COMPAT_SQL_INSERT_ITEM'), [3, env('COMPAT_TEXT_MIXED'), null, '-2.25']);
    $three = $a->prepared(env('COMPAT_SQL_SELECT_ITEM'), [3])[0] ?? throw new RuntimeException('row 3 missing');
    equal($three['label'], env('COMPAT_TEXT_MIXED'), 'label');
    equal($three['label_hex'], env('COMPAT_TEXT_MIXED_HEX'), 'HEX(label)');
    equal($three['note'], null, 'note');
    equal($three['amount'], '-2.25', 'amount');
});

$count = fn (int $id) => $a->rows("SELECT COUNT(*) AS n FROM $items WHERE id = ?", [$id])[0]['n'];

check('commit', function () use (&$a, $count) {
    $a->begin();
    $a->prepared(env('COMPAT_SQL_INSERT_ITEM'), [10, 'committed', null, null]);
    $a->commit();
    equal($count(10), '1', 'rows with id 10');
});

check('rollback', function () use (&$a, $count) {
    $a->begin();
    $a->prepared(env('COMPAT_SQL_INSERT_ITEM'), [11, 'rolled back', null, null]);
    $a->rollback();
    equal($count(11), '0', 'rows with id 11');
});

check('large-result', function () use (&$a) {
    $a->exec(env('COMPAT_SQL_FILL_ROWS'));
    $rows = $a->rows(env('COMPAT_SQL_SELECT_ROWS'));
    equal(count($rows), (int) env('COMPAT_ROWS'), 'row count');
    foreach ($rows as $i => $row) {
        $n = (string) ($i + 1);
        if ($row['n'] !== $n || $row['label'] !== "row-$n") throw new RuntimeException("row $n is " . json_encode($row));
    }
});

if ($mode === 'mysqli') {
    check('cursor-fetch', function () use (&$a) {
        // A read-only cursor: COM_STMT_EXECUTE opens it, COM_STMT_FETCH reads the rows (mysqlnd fetches one at a
        // time: it does not implement MYSQLI_STMT_ATTR_PREFETCH_ROWS); then COM_STMT_RESET.
        $statement = $a->db->prepare(env('COMPAT_SQL_SELECT_ROWS'));
        $statement->attr_set(MYSQLI_STMT_ATTR_CURSOR_TYPE, MYSQLI_CURSOR_TYPE_READ_ONLY);
        $statement->execute();
        $statement->bind_result($n, $label);
        $count = 0;
        while ($statement->fetch()) {
            $count++;
            if ((string) $n !== (string) $count || $label !== "row-$count") throw new RuntimeException("row $count is ($n, $label)");
        }
        equal($count, (int) env('COMPAT_ROWS'), 'rows fetched');
        if (!$statement->reset()) throw new RuntimeException('COM_STMT_RESET failed');
        $statement->close();
        equal($a->rows('SELECT 1 AS one')[0]['one'], '1', 'SELECT 1 afterwards');
    });
}

check('blob-4mb', function () use (&$a) {
    $blob = file_get_contents(env('COMPAT_BLOB_FILE'));
    $a->prepared(env('COMPAT_SQL_INSERT_BLOB'), [1, $blob], 1);
    $digest = $a->rows(env('COMPAT_SQL_BLOB_DIGEST'), [1])[0];
    equal($digest['len'], env('COMPAT_BLOB_BYTES'), 'LENGTH(data)');
    equal($digest['md5'], env('COMPAT_BLOB_MD5'), 'MD5(data)');
    $read = $a->prepared(env('COMPAT_SQL_SELECT_BLOB'), [1])[0]['data'];
    if ($read !== $blob) throw new RuntimeException('blob read back differs (' . strlen((string) $read) . ' bytes)');
});

check('error-recovery', function () use (&$a) {
    try {
        $a->rows(env('COMPAT_SQL_ERROR'));
        throw new RuntimeException('expected error 1146, the statement succeeded');
    } catch (mysqli_sql_exception | PDOException $e) {
        equal(errorCode($e), 1146, 'error code');
    }
    equal($a->rows('SELECT 1 + 1 AS two')[0]['two'], '2', 'next statement');
});

check('procedure-out', function () use (&$a) {
    $sets = $a->resultSets(env('COMPAT_SQL_CALL'));
    equal($sets[0] ?? null, [['21']], 'result set of the procedure');
    equal($a->rows(env('COMPAT_SQL_CALL_OUT'))[0]['y'], '42', 'OUT parameter');
});

check('multi-statements', function () use (&$a) {
    equal($a->resultSets(env('COMPAT_SQL_MULTI'), true), [[['1']], [['two']]], 'result sets');
});

check('correl-alias', function () use (&$a, &$library, $connect, $showLibrary, $items) {
    $a->exec(sprintf('set correl_object %s %s %s', env('COMPAT_CORREL_CLASS'), env('COMPAT_CORREL_OBJECT'), env('COMPAT_KEY')));
    $b = $connect();
    try {
        $b->exec(sprintf('select library_by_correl_object %s %s', env('COMPAT_CORREL_CLASS'), env('COMPAT_CORREL_OBJECT')));
        $shown = $showLibrary($b);
        equal("{$shown['library']} {$shown['key']}", "$library " . env('COMPAT_KEY'), 'show library on the new connection');
        equal($b->rows("SELECT label FROM $items WHERE id = 2")[0]['label'], env('COMPAT_TEXT_CJK'), 'row 2');
    } finally {
        $b->close();
    }
});

$expectReset = function (Db $db) use ($showLibrary, $items) {
    equal($db->rows('SELECT @compat_marker AS marker')[0]['marker'], null, '@compat_marker');
    equal($showLibrary($db)['key'], env('COMPAT_KEY'), 'show library key');
    $db->rows("SELECT COUNT(*) FROM $items");
};

if ($mode === 'mysqli') {
    check('ping', function () use (&$a) {
        if (!$a->db->ping()) throw new RuntimeException('ping returned false');
        equal($a->rows('SELECT 1 AS one')[0]['one'], '1', 'SELECT 1 after ping');
    });
    check('change-user', function () use (&$a, $expectReset) {
        $a->exec("SET @compat_marker = 'set'");
        if (!$a->db->change_user(env('COMPAT_USER'), env('COMPAT_PASSWORD'), env('COMPAT_DATABASE'))) throw new RuntimeException('change_user returned false');
        $expectReset($a);
    });
}

check('statistics', function () use (&$a, $mode) {
    $stat = $mode === 'mysqli' ? $a->db->stat() : $a->pdo->getAttribute(PDO::ATTR_SERVER_INFO);
    if (!is_string($stat) || !str_contains($stat, 'Uptime')) throw new RuntimeException('unexpected statistics: ' . json_encode($stat));
    equal($a->rows('SELECT 1 AS one')[0]['one'], '1', 'SELECT 1 afterwards');
});

check('quit', function () use (&$a) {
    $a->close();
});
