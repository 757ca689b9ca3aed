"""The compatibility scenario (test/compat/README.md) with a Python DB-API driver.

usage: python3 compat.py pymysql|MySQLdb

Both drivers bind parameters on the client (text protocol) and connect with autocommit off, so they send
`SET autocommit=0` before any library is chosen. mysqlclient (MySQLdb) adds change_user, stat and
set_server_option (COM_CHANGE_USER, COM_STATISTICS, COM_SET_OPTION). Prints one JSON line per check.
"""

import importlib
import json
import os
import sys

MODULE = sys.argv[1] if len(sys.argv) > 1 else ''
if MODULE not in ('pymysql', 'MySQLdb'):
    sys.exit('usage: compat.py pymysql|MySQLdb')
db = importlib.import_module(MODULE)
CLIENT = os.environ['COMPAT_CLIENT']
env = os.environ.__getitem__


def emit(line):
    print(json.dumps({'client': CLIENT, **line}), flush=True)


def check(name):
    def run(body):
        try:
            detail = body()
            emit({'check': name, 'ok': True, **({'detail': str(detail)} if detail is not None else {})})
        except Exception as error:  # every failure is reported; the scenario goes on
            emit({'check': name, 'ok': False, 'detail': describe(error)})
    return run


def describe(error):
    args = getattr(error, 'args', ())
    if len(args) == 2 and isinstance(args[0], int):
        return f'ERROR {args[0]}: {args[1]}'
    return f'{type(error).__name__}: {error}'


def error_code(error):
    args = getattr(error, 'args', ())
    return args[0] if args and isinstance(args[0], int) else None


def equal(actual, expected, what):
    if actual != expected:
        raise AssertionError(f'{what}: expected {expected!r}, got {actual!r}')


def expect_error(connection, sql, code):
    try:
        rows(connection, sql)
    except db.Error as error:
        equal(error_code(error), code, 'error code')
        return
    raise AssertionError(f'expected error {code}, the statement succeeded')


def text(value):
    """Values as the other programs compare them: strings, None for NULL."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode('utf-8')
    return str(value)


def rows(connection, sql, params=None):
    """Rows as dicts of strings; ? placeholders become the driver's %s (client-side binding)."""
    with connection.cursor() as cursor:
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql.replace('?', '%s'), params)
        if cursor.description is None:
            return []
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, (text(v) for v in row))) for row in cursor.fetchall()]


def version():
    if MODULE == 'pymysql':
        return f'PyMySQL {db.__version__}'
    return f'mysqlclient {db.__version__} (MariaDB Connector/C {db.get_client_info()})'


def connect():
    if MODULE == 'pymysql':
        from pymysql.constants import CLIENT as flags
    else:
        from MySQLdb.constants import CLIENT as flags
    options = dict(host=env('COMPAT_HOST'), port=int(env('COMPAT_PORT')), user=env('COMPAT_USER'),
                   password=env('COMPAT_PASSWORD'), database=env('COMPAT_DATABASE'), charset='utf8mb4',
                   client_flag=flags.MULTI_STATEMENTS, local_infile=True)
    if MODULE == 'pymysql':
        options['max_allowed_packet'] = 64 * 1024 * 1024  # for the 17 MiB statement of large-packet
    return db.connect(**options)


def show_library(connection):
    shown = rows(connection, 'show library')
    if not shown:
        raise AssertionError('show library gave no row')
    return shown[0]


state = {}
ITEMS = env('COMPAT_TABLE_ITEMS')
emit({'version': version()})


@check('connect')
def _():
    state['a'] = connect()
    rows(state['a'], f"SET time_zone = '{env('COMPAT_TIME_ZONE')}'")
    state['before'] = rows(state['a'], env('COMPAT_SQL_SETTINGS'))[0]


@check('lobby-refuses-data')
def _():
    expect_error(state['a'], env('COMPAT_SQL_LOBBY_DATA'), 7101)
    equal(rows(state['a'], 'SELECT 1 AS one')[0]['one'], '1', 'SELECT 1 afterwards')


@check('select-library')
def _():
    a = state['a']
    rows(a, f"select library {env('COMPAT_KEY')}")
    shown = show_library(a)
    equal(shown['key'], env('COMPAT_KEY'), 'show library key')
    state['library'] = shown['library']
    equal(rows(a, 'SELECT @@port AS port')[0]['port'], shown['server'].rsplit(':', 1)[1], '@@port against show library server')
    return f"{shown['library']} {shown['server']}"


@check('lobby-settings')
def _():
    after = rows(state['a'], env('COMPAT_SQL_SETTINGS'))[0]
    equal(after, state.get('before'), 'settings after select library')
    equal(after['time_zone'], env('COMPAT_TIME_ZONE'), 'time_zone')


@check('connect-chatter')
def _():
    # The driver's `SET autocommit=0` at connect time, sent before any library.
    equal(rows(state['a'], 'SELECT @@autocommit AS a')[0]['a'], '0', '@@autocommit')


@check('ddl')
def _():
    for statement in env('COMPAT_SQL_DDL').split('\n'):
        rows(state['a'], statement)


def item(connection, item_id):
    found = rows(connection, env('COMPAT_SQL_SELECT_ITEM'), (item_id,))
    if not found:
        raise AssertionError(f'row {item_id} missing')
    return found[0]


@check('text-utf8mb4')
def _():
    a = state['a']
    rows(a, env('COMPAT_SQL_INSERT_ITEM'), (1, env('COMPAT_TEXT_EMOJI'), None, '1.50'))
    rows(a, env('COMPAT_SQL_INSERT_ITEM'), (2, env('COMPAT_TEXT_CJK'), env('COMPAT_TEXT_NOTE'), None))
    a.commit()
    one, two = item(a, 1), item(a, 2)
    equal(one['label'], env('COMPAT_TEXT_EMOJI'), 'emoji label')
    equal(one['label_hex'], env('COMPAT_TEXT_EMOJI_HEX'), 'emoji HEX(label)')
    equal(two['label'], env('COMPAT_TEXT_CJK'), 'CJK label')
    equal(two['label_hex'], env('COMPAT_TEXT_CJK_HEX'), 'CJK HEX(label)')


@check('null-values')
def _():
    one, two = item(state['a'], 1), item(state['a'], 2)
    equal(one['note'], None, 'row 1 note')
    equal(one['amount'], '1.50', 'row 1 amount')
    equal(two['note'], env('COMPAT_TEXT_NOTE'), 'row 2 note')
    equal(two['amount'], None, 'row 2 amount')


def count(item_id):
    return rows(state['a'], f'SELECT COUNT(*) AS n FROM {ITEMS} WHERE id = ?', (item_id,))[0]['n']


@check('commit')
def _():
    rows(state['a'], env('COMPAT_SQL_INSERT_ITEM'), (10, 'committed', None, None))
    state['a'].commit()
    equal(count(10), '1', 'rows with id 10')


@check('rollback')
def _():
    rows(state['a'], env('COMPAT_SQL_INSERT_ITEM'), (11, 'rolled back', None, None))
    state['a'].rollback()
    equal(count(11), '0', 'rows with id 11')


@check('large-result')
def _():
    a = state['a']
    rows(a, env('COMPAT_SQL_FILL_ROWS'))
    a.commit()
    result = rows(a, env('COMPAT_SQL_SELECT_ROWS'))
    equal(len(result), int(env('COMPAT_ROWS')), 'row count')
    for i, row in enumerate(result, 1):
        if row != {'n': str(i), 'label': f'row-{i}'}:
            raise AssertionError(f'row {i} is {row}')


if MODULE == 'pymysql':
    @check('load-data-local')
    def _():
        a = state['a']
        rows(a, env('COMPAT_SQL_LOAD_DATA'))
        a.commit()
        loaded = rows(a, env('COMPAT_SQL_LOADED'))[0]
        equal(f"{loaded['n']} {loaded['total']}", env('COMPAT_LOADED'), 'COUNT(*) and SUM(n) of the loaded rows')


def blob_round_trip(blob_id, file_variable, bytes_variable, md5_variable):
    a = state['a']
    with open(env(file_variable), 'rb') as f:
        blob = f.read()
    with a.cursor() as cursor:
        cursor.execute(env('COMPAT_SQL_INSERT_BLOB').replace('?', '%s'), (blob_id, blob))
    a.commit()
    digest = rows(a, env('COMPAT_SQL_BLOB_DIGEST'), (blob_id,))[0]
    equal(digest['len'], env(bytes_variable), 'LENGTH(data)')
    equal(digest['md5'], env(md5_variable), 'MD5(data)')
    with a.cursor() as cursor:
        cursor.execute(env('COMPAT_SQL_SELECT_BLOB').replace('?', '%s'), (blob_id,))
        read = cursor.fetchone()[0]
    if bytes(read) != blob:
        raise AssertionError(f'blob read back differs ({len(read)} bytes)')


@check('blob-4mb')
def _():
    blob_round_trip(1, 'COMPAT_BLOB_FILE', 'COMPAT_BLOB_BYTES', 'COMPAT_BLOB_MD5')


if MODULE == 'pymysql':
    @check('large-packet')
    def _():
        # The escaped 17 MiB literal makes a COM_QUERY of several packets; the row comes back in several too.
        blob_round_trip(2, 'COMPAT_BIG_BLOB_FILE', 'COMPAT_BIG_BLOB_BYTES', 'COMPAT_BIG_BLOB_MD5')


@check('error-recovery')
def _():
    expect_error(state['a'], env('COMPAT_SQL_ERROR'), 1146)
    equal(rows(state['a'], 'SELECT 1 + 1 AS two')[0]['two'], '2', 'next statement')


@check('procedure-out')
def _():
    # DB-API callproc: sets @_<name>_<n> for each argument and CALLs with them.
    procedure = env('COMPAT_PROCEDURE')
    with state['a'].cursor() as cursor:
        cursor.callproc(procedure, (21, 0))
        equal([text(v) for v in cursor.fetchone()], ['21'], 'result set of the procedure')
        while cursor.nextset():
            pass
    equal(rows(state['a'], f'SELECT @_{procedure}_1 AS y')[0]['y'], '42', 'OUT parameter')


def result_sets(connection, sql):
    sets = []
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while True:
            if cursor.description is not None:
                sets.append([[text(v) for v in row] for row in cursor.fetchall()])
            if not cursor.nextset():
                break
    return sets


@check('multi-statements')
def _():
    equal(result_sets(state['a'], env('COMPAT_SQL_MULTI')), [[['1']], [['two']]], 'result sets')


if MODULE == 'MySQLdb':
    @check('set-option')
    def _():
        # COM_SET_OPTION: multi-statements off (a second statement is a syntax error), then on again.
        a = state['a']
        a.set_server_option(1)  # MYSQL_OPTION_MULTI_STATEMENTS_OFF
        try:
            result_sets(a, env('COMPAT_SQL_MULTI'))
            raise AssertionError('multi-statements still on after COM_SET_OPTION off')
        except db.Error as error:
            equal(error_code(error), 1064, 'error code with multi-statements off')
        a.set_server_option(0)  # MYSQL_OPTION_MULTI_STATEMENTS_ON
        equal(result_sets(a, env('COMPAT_SQL_MULTI')), [[['1']], [['two']]], 'result sets with multi-statements on')


@check('switch-library')
def _():
    # Autocommit is off: the reads so far opened a transaction, and a switch inside one is refused, so commit first.
    a = state['a']
    a.commit()
    home = show_library(a)['server']
    other = None
    for n in range(20):
        rows(a, f"select library {env('COMPAT_OTHER_KEY_PREFIX')}{n}")
        if show_library(a)['library'] != state.get('library'):
            other = n
            break
    try:
        if other is None:
            raise AssertionError('no key of the other library found in 20 tries')
        there = show_library(a)
        equal(rows(a, 'SELECT @@port AS port')[0]['port'], there['server'].rsplit(':', 1)[1], '@@port on the other library')
        equal(rows(a, env('COMPAT_SQL_SETTINGS'))[0], state.get('before'), 'settings on the other library')
        a.commit()
    finally:
        rows(a, f"select library {env('COMPAT_KEY')}")
    equal(show_library(a)['server'], home, 'back home')
    equal(rows(a, env('COMPAT_SQL_SETTINGS'))[0], state.get('before'), 'settings back home')


@check('correl-alias')
def _():
    rows(state['a'], f"set correl_object {env('COMPAT_CORREL_CLASS')} {env('COMPAT_CORREL_OBJECT')} {env('COMPAT_KEY')}")
    b = connect()
    try:
        rows(b, f"select library_by_correl_object {env('COMPAT_CORREL_CLASS')} {env('COMPAT_CORREL_OBJECT')}")
        shown = show_library(b)
        equal(f"{shown['library']} {shown['key']}", f"{state.get('library')} {env('COMPAT_KEY')}", 'show library on the new connection')
        equal(rows(b, f'SELECT label FROM {ITEMS} WHERE id = 2')[0]['label'], env('COMPAT_TEXT_CJK'), 'row 2')
    finally:
        b.close()


@check('ping')
def _():
    if MODULE == 'pymysql':
        state['a'].ping(reconnect=False)
    else:
        state['a'].ping()
    equal(rows(state['a'], 'SELECT 1 AS one')[0]['one'], '1', 'SELECT 1 after ping')


if MODULE == 'MySQLdb':
    @check('change-user')
    def _():
        a = state['a']
        rows(a, "SET @compat_marker = 'set'")
        a.change_user(env('COMPAT_USER'), env('COMPAT_PASSWORD'), env('COMPAT_DATABASE'))
        equal(rows(a, 'SELECT @compat_marker AS marker')[0]['marker'], None, '@compat_marker')
        equal(show_library(a)['key'], env('COMPAT_KEY'), 'show library key')
        rows(a, f'SELECT COUNT(*) FROM {ITEMS}')

    @check('statistics')
    def _():
        stat = state['a'].stat()
        if 'Uptime' not in stat:
            raise AssertionError(f'unexpected statistics: {stat!r}')
        equal(rows(state['a'], 'SELECT 1 AS one')[0]['one'], '1', 'SELECT 1 afterwards')


@check('quit')
def _():
    state['a'].close()
