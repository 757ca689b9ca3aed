# The compatibility scenario (test/compat/README.md) with the Ruby mysql2 gem: Client#escape for text,
# Client#prepare for server-side prepared statements, next_result/store_result for several results, ping.
# At connect it sends the SET a Rails application's mysql2 adapter configures its connections with.
# Prints one JSON line per check.
require 'bigdecimal'
require 'json'
require 'mysql2'

CLIENT = ENV.fetch('COMPAT_CLIENT')
ITEMS = ENV.fetch('COMPAT_TABLE_ITEMS')

def env(name)
  ENV.fetch(name).dup.force_encoding(Encoding::UTF_8)
end

def emit(line)
  puts JSON.generate({ client: CLIENT }.merge(line), ascii_only: true)
  $stdout.flush
end

def check(name)
  detail = yield
  emit({ check: name, ok: true }.merge(detail.nil? ? {} : { detail: detail.to_s }))
rescue StandardError, ScriptError => e
  detail = e.is_a?(Mysql2::Error) ? "ERROR #{e.error_number}: #{e.message}" : "#{e.class}: #{e.message}"
  emit({ check: name, ok: false, detail: detail })
end

def equal(actual, expected, what)
  raise "#{what}: expected #{expected.inspect}, got #{actual.inspect}" unless actual == expected
end

# Values as the other programs compare them: strings (decimals with their scale), nil for NULL.
def text(value)
  case value
  when nil then nil
  when BigDecimal then format('%.2f', value)
  else value.to_s
  end
end

def connect
  Mysql2::Client.new(host: env('COMPAT_HOST'), port: Integer(env('COMPAT_PORT')), username: env('COMPAT_USER'),
                     password: env('COMPAT_PASSWORD'), database: env('COMPAT_DATABASE'), encoding: 'utf8mb4',
                     flags: Mysql2::Client::MULTI_STATEMENTS)
end

# The ? of sql replaced by literals quoted with Client#escape.
def bind_literals(client, sql, params)
  literal = ->(p) { p.nil? ? 'NULL' : (p.is_a?(Integer) ? p.to_s : "'#{client.escape(p)}'") }
  sql.split('?', -1).each_with_index.map { |part, i| i.zero? ? part : literal.call(params[i - 1]) + part }.join
end

def rows(client, sql, *params)
  result = client.query(bind_literals(client, sql, params))
  result.nil? ? [] : result.map { |row| row.transform_values { |v| text(v) } }
end

def prepared(client, sql, *params)
  result = client.prepare(sql).execute(*params)
  result.nil? ? [] : result.map { |row| row.transform_values { |v| text(v) } }
end

def expect_error(client, sql, code)
  client.query(sql)
  raise "expected error #{code}, the statement succeeded"
rescue Mysql2::Error => e
  equal(e.error_number, code, 'error code')
end

def show_library(client)
  rows(client, 'show library').first or raise 'show library gave no row'
end

def result_sets(client, sql)
  sets = [client.query(sql, as: :array).to_a]
  while client.next_result
    result = client.store_result
    sets << result.to_a if result
  end
  sets.map { |set| set.map { |row| row.map { |v| text(v) } } }
end

# What a Rails application's mysql2 adapter sends on each new connection.
RAILS_SETTINGS = "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci, @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), " \
                 "',NO_AUTO_VALUE_ON_ZERO'), @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483"

emit({ version: "mysql2 gem #{Mysql2::VERSION} (Ruby #{RUBY_VERSION}, MariaDB Connector/C #{Mysql2::Client.info[:version]})" })
first = before = library = nil

check('connect') do
  first = connect
  first.query(RAILS_SETTINGS)
  first.query("SET time_zone = '#{env('COMPAT_TIME_ZONE')}'")
  before = rows(first, env('COMPAT_SQL_SETTINGS')).first
  nil
end

check('lobby-refuses-data') do
  expect_error(first, env('COMPAT_SQL_LOBBY_DATA'), 7101)
  equal(rows(first, 'SELECT 1 AS one').first['one'], '1', 'SELECT 1 afterwards')
  nil
end

check('select-library') do
  first.query("select library #{env('COMPAT_KEY')}")
  shown = show_library(first)
  equal(shown['key'], env('COMPAT_KEY'), 'show library key')
  library = shown['library']
  equal(rows(first, 'SELECT @@port AS port').first['port'], shown['server'].split(':').last, '@@port against show library server')
  "#{shown['library']} #{shown['server']}"
end

check('lobby-settings') do
  after = rows(first, env('COMPAT_SQL_SETTINGS')).first
  equal(after, before, 'settings after select library')
  equal(after['time_zone'], env('COMPAT_TIME_ZONE'), 'time_zone')
  nil
end

check('connect-chatter') do
  s = rows(first, 'SELECT @@sql_mode AS mode, @@sql_auto_is_null AS auto_is_null, @@wait_timeout AS wait, @@collation_connection AS coll').first
  %w[STRICT_ALL_TABLES NO_AUTO_VALUE_ON_ZERO].each { |m| raise "sql_mode lacks #{m}: #{s['mode']}" unless s['mode'].split(',').include?(m) }
  equal([s['auto_is_null'], s['wait'], s['coll']], ['0', '2147483', 'utf8mb4_unicode_ci'], 'sql_auto_is_null, wait_timeout, collation_connection')
  nil
end

check('ddl') do
  env('COMPAT_SQL_DDL').split("\n").each { |statement| first.query(statement) }
  nil
end

item = lambda do |id|
  rows(first, env('COMPAT_SQL_SELECT_ITEM'), id).first or raise "row #{id} missing"
end

check('text-utf8mb4') do
  rows(first, env('COMPAT_SQL_INSERT_ITEM'), 1, env('COMPAT_TEXT_EMOJI'), nil, '1.50')
  rows(first, env('COMPAT_SQL_INSERT_ITEM'), 2, env('COMPAT_TEXT_CJK'), env('COMPAT_TEXT_NOTE'), nil)
  one = item.call(1)
  two = item.call(2)
  equal(one['label'], env('COMPAT_TEXT_EMOJI'), 'emoji label')
  equal(one['label_hex'], env('COMPAT_TEXT_EMOJI_HEX'), 'emoji HEX(label)')
  equal(two['label'], env('COMPAT_TEXT_CJK'), 'CJK label')
  equal(two['label_hex'], env('COMPAT_TEXT_CJK_HEX'), 'CJK HEX(label)')
  nil
end

check('null-values') do
  one = item.call(1)
  two = item.call(2)
  equal(one['note'], nil, 'row 1 note')
  equal(one['amount'], '1.50', 'row 1 amount')
  equal(two['note'], env('COMPAT_TEXT_NOTE'), 'row 2 note')
  equal(two['amount'], nil, 'row 2 amount')
  nil
end

check('prepared') do
  prepared(first, env('COMPAT_SQL_INSERT_ITEM'), 3, env('COMPAT_TEXT_MIXED'), nil, BigDecimal('-2.25'))
  three = prepared(first, env('COMPAT_SQL_SELECT_ITEM'), 3).first or raise 'row 3 missing'
  equal(three['label'], env('COMPAT_TEXT_MIXED'), 'label')
  equal(three['label_hex'], env('COMPAT_TEXT_MIXED_HEX'), 'HEX(label)')
  equal(three['note'], nil, 'note')
  equal(three['amount'], '-2.25', 'amount')
  nil
end

count = ->(id) { rows(first, "SELECT COUNT(*) AS n FROM #{ITEMS} WHERE id = ?", id).first['n'] }

check('commit') do
  first.query('BEGIN')
  rows(first, env('COMPAT_SQL_INSERT_ITEM'), 10, 'committed', nil, nil)
  first.query('COMMIT')
  equal(count.call(10), '1', 'rows with id 10')
  nil
end

check('rollback') do
  first.query('BEGIN')
  rows(first, env('COMPAT_SQL_INSERT_ITEM'), 11, 'rolled back', nil, nil)
  first.query('ROLLBACK')
  equal(count.call(11), '0', 'rows with id 11')
  nil
end

check('large-result') do
  first.query(env('COMPAT_SQL_FILL_ROWS'))
  result = rows(first, env('COMPAT_SQL_SELECT_ROWS'))
  equal(result.length, Integer(env('COMPAT_ROWS')), 'row count')
  result.each.with_index(1) do |row, i|
    raise "row #{i} is #{row}" unless row == { 'n' => i.to_s, 'label' => "row-#{i}" }
  end
  nil
end

check('blob-4mb') do
  blob = File.binread(env('COMPAT_BLOB_FILE'))
  first.prepare(env('COMPAT_SQL_INSERT_BLOB')).execute(1, blob)
  digest = rows(first, env('COMPAT_SQL_BLOB_DIGEST'), 1).first
  equal(digest['len'], env('COMPAT_BLOB_BYTES'), 'LENGTH(data)')
  equal(digest['md5'], env('COMPAT_BLOB_MD5'), 'MD5(data)')
  read = first.prepare(env('COMPAT_SQL_SELECT_BLOB')).execute(1).first['data']
  raise "blob read back differs (#{read.bytesize} bytes)" unless read.b == blob
  nil
end

check('error-recovery') do
  expect_error(first, env('COMPAT_SQL_ERROR'), 1146)
  equal(rows(first, 'SELECT 1 + 1 AS two').first['two'], '2', 'next statement')
  nil
end

check('procedure-out') do
  equal(result_sets(first, env('COMPAT_SQL_CALL')).first, [['21']], 'result set of the procedure')
  equal(rows(first, env('COMPAT_SQL_CALL_OUT')).first['y'], '42', 'OUT parameter')
  nil
end

check('multi-statements') do
  equal(result_sets(first, env('COMPAT_SQL_MULTI')), [[['1']], [['two']]], 'result sets')
  nil
end

check('correl-alias') do
  first.query("set correl_object #{env('COMPAT_CORREL_CLASS')} #{env('COMPAT_CORREL_OBJECT')} #{env('COMPAT_KEY')}")
  second = connect
  begin
    second.query("select library_by_correl_object #{env('COMPAT_CORREL_CLASS')} #{env('COMPAT_CORREL_OBJECT')}")
    shown = show_library(second)
    equal("#{shown['library']} #{shown['key']}", "#{library} #{env('COMPAT_KEY')}", 'show library on the new connection')
    equal(rows(second, "SELECT label FROM #{ITEMS} WHERE id = 2").first['label'], env('COMPAT_TEXT_CJK'), 'row 2')
  ensure
    second.close
  end
  nil
end

check('ping') do
  raise 'ping returned false' unless first.ping
  equal(rows(first, 'SELECT 1 AS one').first['one'], '1', 'SELECT 1 after ping')
  nil
end

check('quit') do
  first.close
  nil
end
