#!/usr/bin/perl
# The compatibility scenario (test/compat/README.md) with Perl DBI and DBD::MariaDB: client-side placeholders
# for text, mariadb_server_prepare for server-side prepared statements, more_results, ping, mariadb_stat.
# DBD::MariaDB sends SET NAMES, character_set_server, collation_connection and collation_server at connect time.
# Prints one JSON line per check.
use strict;
use warnings;
use utf8;
use DBI qw(:sql_types);
use DBD::MariaDB;
use JSON::PP;
use Encode qw(decode);

binmode STDOUT, ':raw';
my $json = JSON::PP->new->ascii->canonical;
# The environment holds UTF-8 bytes; the driver speaks Perl character strings.
sub env {
    my ($name) = @_;
    die "$name is not set\n" unless defined $ENV{$name};
    return decode('UTF-8', $ENV{$name});
}
my $CLIENT = env('COMPAT_CLIENT');
my $ITEMS = env('COMPAT_TABLE_ITEMS');

sub emit {
    my ($line) = @_;
    print $json->encode({ client => $CLIENT, %$line }), "\n";
    STDOUT->flush;
}

sub check {
    my ($name, $body) = @_;
    my $detail = eval { $body->() };
    if (my $error = $@) {
        chomp $error;
        emit({ check => $name, ok => JSON::PP::false, detail => "$error" });
    } else {
        emit({ check => $name, ok => JSON::PP::true, (defined $detail ? (detail => "$detail") : ()) });
    }
}

sub show { defined $_[0] ? "'$_[0]'" : 'NULL' }

sub equal {
    my ($actual, $expected, $what) = @_;
    my $same = (!defined $actual && !defined $expected) || (defined $actual && defined $expected && $actual eq $expected);
    die "$what: expected " . show($expected) . ', got ' . show($actual) . "\n" unless $same;
}

sub connect_db {
    my $dsn = sprintf('DBI:MariaDB:database=%s;host=%s;port=%s', env('COMPAT_DATABASE'), env('COMPAT_HOST'), env('COMPAT_PORT'));
    return DBI->connect($dsn, env('COMPAT_USER'), env('COMPAT_PASSWORD'),
        { RaiseError => 1, PrintError => 0, AutoCommit => 1, mariadb_multi_statements => 1 });
}

sub row { my ($dbh, $sql, @params) = @_; return $dbh->selectrow_hashref($sql, undef, @params) }

sub expect_error {
    my ($dbh, $sql, $code) = @_;
    my $ok = eval { $dbh->do($sql); 1 };
    die "expected error $code, the statement succeeded\n" if $ok;
    equal($dbh->err, $code, 'error code');
}

sub show_library {
    my ($dbh) = @_;
    return row($dbh, 'show library') // die "show library gave no row\n";
}

sub result_sets {
    my ($sth) = @_;
    my @sets;
    do {
        # As strings, whatever type the driver gave (integers come back as Perl numbers).
        push @sets, [ map { [ map { defined $_ ? "$_" : undef } @$_ ] } @{ $sth->fetchall_arrayref } ] if $sth->{NUM_OF_FIELDS};
    } while ($sth->more_results);
    return \@sets;
}

emit({ version => "DBD::MariaDB $DBD::MariaDB::VERSION (DBI $DBI::VERSION)" });

my ($first, $before, $library);

check('connect', sub {
    $first = connect_db();
    $first->do("SET time_zone = '" . env('COMPAT_TIME_ZONE') . "'");
    $before = $json->encode(row($first, env('COMPAT_SQL_SETTINGS')));
    return "MariaDB Connector/C $first->{mariadb_clientinfo}";
});

check('lobby-refuses-data', sub {
    expect_error($first, env('COMPAT_SQL_LOBBY_DATA'), 7101);
    equal(row($first, 'SELECT 1 AS one')->{one}, '1', 'SELECT 1 afterwards');
    return;
});

check('select-library', sub {
    $first->do('select library ' . env('COMPAT_KEY'));
    my $shown = show_library($first);
    equal($shown->{key}, env('COMPAT_KEY'), 'show library key');
    $library = $shown->{library};
    my ($port) = $shown->{server} =~ /:(\d+)$/;
    equal(row($first, 'SELECT @@port AS port')->{port}, $port, '@@port against show library server');
    return "$shown->{library} $shown->{server}";
});

check('lobby-settings', sub {
    my $after = row($first, env('COMPAT_SQL_SETTINGS'));
    equal($json->encode($after), $before, 'settings after select library');
    equal($after->{time_zone}, env('COMPAT_TIME_ZONE'), 'time_zone');
    return;
});

check('connect-chatter', sub {
    my $s = row($first, 'SELECT @@character_set_client AS cs, @@character_set_server AS css, '
        . '@@collation_connection AS cc, @@collation_server AS cls');
    equal(join(' ', @$s{qw(cs css cc cls)}), 'utf8mb4 utf8mb4 utf8mb4_unicode_ci utf8mb4_unicode_ci', 'character sets and collations');
    return;
});

check('ddl', sub {
    $first->do($_) for split /\n/, env('COMPAT_SQL_DDL');
    return;
});

sub item {
    my ($dbh, $id, %attributes) = @_;
    my $sth = $dbh->prepare(env('COMPAT_SQL_SELECT_ITEM'), \%attributes);
    $sth->execute($id);
    return $sth->fetchrow_hashref // die "row $id missing\n";
}

check('text-utf8mb4', sub {
    # Client-side placeholders (mariadb_server_prepare off): the driver quotes the values into the text.
    $first->do(env('COMPAT_SQL_INSERT_ITEM'), undef, 1, env('COMPAT_TEXT_EMOJI'), undef, '1.50');
    $first->do(env('COMPAT_SQL_INSERT_ITEM'), undef, 2, env('COMPAT_TEXT_CJK'), env('COMPAT_TEXT_NOTE'), undef);
    my ($one, $two) = (item($first, 1), item($first, 2));
    equal($one->{label}, env('COMPAT_TEXT_EMOJI'), 'emoji label');
    equal($one->{label_hex}, env('COMPAT_TEXT_EMOJI_HEX'), 'emoji HEX(label)');
    equal($two->{label}, env('COMPAT_TEXT_CJK'), 'CJK label');
    equal($two->{label_hex}, env('COMPAT_TEXT_CJK_HEX'), 'CJK HEX(label)');
    return;
});

check('null-values', sub {
    my ($one, $two) = (item($first, 1), item($first, 2));
    equal($one->{note}, undef, 'row 1 note');
    equal($one->{amount}, '1.50', 'row 1 amount');
    equal($two->{note}, env('COMPAT_TEXT_NOTE'), 'row 2 note');
    equal($two->{amount}, undef, 'row 2 amount');
    return;
});

check('prepared', sub {
    my $insert = $first->prepare(env('COMPAT_SQL_INSERT_ITEM'), { mariadb_server_prepare => 1 });
    $insert->execute(3, env('COMPAT_TEXT_MIXED'), undef, '-2.25');
    my $three = item($first, 3, mariadb_server_prepare => 1);
    equal($three->{label}, env('COMPAT_TEXT_MIXED'), 'label');
    equal($three->{label_hex}, env('COMPAT_TEXT_MIXED_HEX'), 'HEX(label)');
    equal($three->{note}, undef, 'note');
    equal($three->{amount}, '-2.25', 'amount');
    return;
});

sub count { row($first, "SELECT COUNT(*) AS n FROM $ITEMS WHERE id = ?", $_[0])->{n} }

check('commit', sub {
    $first->begin_work;
    $first->do(env('COMPAT_SQL_INSERT_ITEM'), undef, 10, 'committed', undef, undef);
    $first->commit;
    equal(count(10), '1', 'rows with id 10');
    return;
});

check('rollback', sub {
    $first->begin_work;
    $first->do(env('COMPAT_SQL_INSERT_ITEM'), undef, 11, 'rolled back', undef, undef);
    $first->rollback;
    equal(count(11), '0', 'rows with id 11');
    return;
});

check('large-result', sub {
    $first->do(env('COMPAT_SQL_FILL_ROWS'));
    my $rows = $first->selectall_arrayref(env('COMPAT_SQL_SELECT_ROWS'));
    equal(scalar @$rows, env('COMPAT_ROWS'), 'row count');
    for my $i (1 .. @$rows) {
        my ($n, $label) = @{ $rows->[$i - 1] };
        die "row $i is ($n, $label)\n" unless $n == $i && $label eq "row-$i";
    }
    return;
});

check('blob-4mb', sub {
    open my $file, '<:raw', env('COMPAT_BLOB_FILE') or die "cannot read the blob file: $!\n";
    my $blob = do { local $/; <$file> };
    my $insert = $first->prepare(env('COMPAT_SQL_INSERT_BLOB'), { mariadb_server_prepare => 1 });
    $insert->bind_param(1, 1, SQL_INTEGER);
    $insert->bind_param(2, $blob, SQL_BLOB);
    $insert->execute;
    my $digest = row($first, env('COMPAT_SQL_BLOB_DIGEST'), 1);
    equal($digest->{len}, env('COMPAT_BLOB_BYTES'), 'LENGTH(data)');
    equal($digest->{md5}, env('COMPAT_BLOB_MD5'), 'MD5(data)');
    my $select = $first->prepare(env('COMPAT_SQL_SELECT_BLOB'), { mariadb_server_prepare => 1 });
    $select->execute(1);
    my ($read) = $select->fetchrow_array;
    die 'blob read back differs (' . length($read) . " bytes)\n" unless $read eq $blob;
    return;
});

check('error-recovery', sub {
    expect_error($first, env('COMPAT_SQL_ERROR'), 1146);
    equal(row($first, 'SELECT 1 + 1 AS two')->{two}, '2', 'next statement');
    return;
});

check('procedure-out', sub {
    my $sth = $first->prepare(env('COMPAT_SQL_CALL'));
    $sth->execute;
    my $sets = result_sets($sth);
    equal($sets->[0][0][0], '21', 'result set of the procedure');
    equal(row($first, env('COMPAT_SQL_CALL_OUT'))->{y}, '42', 'OUT parameter');
    return;
});

check('multi-statements', sub {
    my $sth = $first->prepare(env('COMPAT_SQL_MULTI'));
    $sth->execute;
    equal($json->encode(result_sets($sth)), '[[["1"]],[["two"]]]', 'result sets');
    return;
});

check('correl-alias', sub {
    $first->do(join ' ', 'set correl_object', env('COMPAT_CORREL_CLASS'), env('COMPAT_CORREL_OBJECT'), env('COMPAT_KEY'));
    my $second = connect_db();
    my $ok = eval {
        $second->do(join ' ', 'select library_by_correl_object', env('COMPAT_CORREL_CLASS'), env('COMPAT_CORREL_OBJECT'));
        my $shown = show_library($second);
        equal("$shown->{library} $shown->{key}", ($library // '') . ' ' . env('COMPAT_KEY'), 'show library on the new connection');
        equal(row($second, "SELECT label FROM $ITEMS WHERE id = 2")->{label}, env('COMPAT_TEXT_CJK'), 'row 2');
        1;
    };
    my $error = $@;
    $second->disconnect;
    die $error unless $ok;
    return;
});

check('ping', sub {
    die "ping returned false\n" unless $first->ping;
    equal(row($first, 'SELECT 1 AS one')->{one}, '1', 'SELECT 1 after ping');
    return;
});

check('statistics', sub {
    my $stat = $first->{mariadb_stat} // '';
    die "unexpected statistics: '$stat'\n" unless $stat =~ /Uptime/;
    equal(row($first, 'SELECT 1 AS one')->{one}, '1', 'SELECT 1 afterwards');
    return;
});

check('quit', sub {
    $first->disconnect or die "disconnect failed\n";
    return;
});
