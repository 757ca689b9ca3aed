-- The compatibility scenario (test/compat/README.md) with sysbench's SQL API (libmariadb underneath).
--   sysbench compat.lua compat   the scenario, one JSON line per check
--   sysbench compat.lua run      the benchmark: every thread sends `select library` first, then each event is
--                                a transaction of a prepared point select and a prepared insert
--   sysbench compat.lua verify   prints the benchmark check (exit status and rows inserted by `run`)
-- Connection options (--mysql-host etc.) come from the command line, the scenario from COMPAT_* variables.

local CLIENT = os.getenv('COMPAT_CLIENT')
local BENCH_BASE_ID = 100000

local function env(name)
  local value = os.getenv(name)
  if value == nil then error(name .. ' is not set') end
  return value
end

local function json_string(s)
  s = tostring(s):gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == '\\' then return '\\\\' end
    return string.format('\\u%04x', c:byte())
  end)
  return '"' .. s .. '"'
end

local function emit(check, ok, detail)
  local line = '{"client":' .. json_string(CLIENT) .. ',"check":' .. json_string(check) .. ',"ok":' .. tostring(ok)
  if detail ~= nil then line = line .. ',"detail":' .. json_string(detail) end
  io.stdout:write(line .. '}\n')
  io.stdout:flush()
end

local function check(name, body)
  local ok, result = pcall(body)
  if ok then emit(name, true, result) else emit(name, false, result) end
end

local function show(v) return v == nil and 'NULL' or "'" .. tostring(v) .. "'" end

local function equal(actual, expected, what)
  if actual ~= expected then error(what .. ': expected ' .. show(expected) .. ', got ' .. show(actual), 0) end
end

-- The MySQL error number of a failed call (sysbench raises "SQL error, errno = N, ...").
local function expect_error(body, code)
  local ok, message = pcall(body)
  if ok then error('expected error ' .. code .. ', the statement succeeded', 0) end
  local errno = tonumber(tostring(message):match('errno = (%d+)'))
  equal(errno, code, 'error code (' .. tostring(message) .. ')')
end

local function rows(con, sql)
  local rs = con:query(sql)
  local out = {}
  if rs == nil then return out end
  for i = 1, rs.nrows do out[i] = rs:fetch_row() end
  return out
end

local function row(con, sql)
  local found = rows(con, sql)[1]
  if found == nil then error('no row from ' .. sql, 0) end
  return found
end

local function connect()
  local con = sysbench.sql.driver():connect()
  con:query('SET NAMES utf8mb4')
  return con
end

local function quote(text) return "'" .. text .. "'" end -- the scenario's texts hold no quote or backslash

-- COMPAT_SQL_INSERT_ITEM / _SELECT_ITEM with their ? replaced by SQL literals.
local function bind(sql, ...)
  local values = { ... }
  local n = 0
  return (sql:gsub('%?', function()
    n = n + 1
    return values[n]
  end))
end

local function settings(con)
  return table.concat(row(con, env('COMPAT_SQL_SETTINGS')), '|')
end

local function show_library(con)
  local shown = row(con, 'show library')
  return { library = shown[1], key = shown[2], server = shown[3] }
end

local function scenario()
  local key, items = env('COMPAT_KEY'), env('COMPAT_TABLE_ITEMS')
  local first, before, library

  check('connect', function()
    first = connect()
    first:query("SET time_zone = '" .. env('COMPAT_TIME_ZONE') .. "'")
    before = settings(first)
  end)

  check('lobby-refuses-data', function()
    expect_error(function() first:query(env('COMPAT_SQL_LOBBY_DATA')) end, 7101)
    equal(row(first, 'SELECT 1')[1], '1', 'SELECT 1 afterwards')
  end)

  check('select-library', function()
    first:query('select library ' .. key)
    local shown = show_library(first)
    equal(shown.key, key, 'show library key')
    library = shown.library
    equal(row(first, 'SELECT @@port')[1], shown.server:match(':(%d+)$'), '@@port against show library server')
    return shown.library .. ' ' .. shown.server
  end)

  check('lobby-settings', function()
    local after = settings(first)
    equal(after, before, 'settings after select library')
    equal(row(first, 'SELECT @@time_zone')[1], env('COMPAT_TIME_ZONE'), 'time_zone')
  end)

  check('ddl', function()
    for statement in env('COMPAT_SQL_DDL'):gmatch('[^\n]+') do first:query(statement) end
  end)

  local function item(id)
    local found = rows(first, bind(env('COMPAT_SQL_SELECT_ITEM'), id))[1]
    if found == nil then error('row ' .. id .. ' missing', 0) end
    return found -- label, note, amount, label_hex
  end

  check('text-utf8mb4', function()
    first:query(bind(env('COMPAT_SQL_INSERT_ITEM'), 1, quote(env('COMPAT_TEXT_EMOJI')), 'NULL', '1.50'))
    first:query(bind(env('COMPAT_SQL_INSERT_ITEM'), 2, quote(env('COMPAT_TEXT_CJK')), quote(env('COMPAT_TEXT_NOTE')), 'NULL'))
    local one, two = item(1), item(2)
    equal(one[1], env('COMPAT_TEXT_EMOJI'), 'emoji label')
    equal(one[4], env('COMPAT_TEXT_EMOJI_HEX'), 'emoji HEX(label)')
    equal(two[1], env('COMPAT_TEXT_CJK'), 'CJK label')
    equal(two[4], env('COMPAT_TEXT_CJK_HEX'), 'CJK HEX(label)')
  end)

  check('null-values', function()
    local one, two = item(1), item(2)
    equal(one[2], nil, 'row 1 note')
    equal(one[3], '1.50', 'row 1 amount')
    equal(two[2], env('COMPAT_TEXT_NOTE'), 'row 2 note')
    equal(two[3], nil, 'row 2 amount')
  end)

  check('prepared', function()
    local insert = first:prepare(env('COMPAT_SQL_INSERT_ITEM'))
    local id, label = insert:bind_create(sysbench.sql.type.INT), insert:bind_create(sysbench.sql.type.VARCHAR, 100)
    -- Amount as text: sysbench 1.0.20's DOUBLE parameter writes past its buffer (sql_param.set uses buffer[1]).
    local note, amount = insert:bind_create(sysbench.sql.type.VARCHAR, 100), insert:bind_create(sysbench.sql.type.VARCHAR, 16)
    insert:bind_param(id, label, note, amount)
    id:set(3)
    label:set(env('COMPAT_TEXT_MIXED'))
    note:set(nil)
    amount:set('-2.25')
    insert:execute()
    insert:close()
    local select = first:prepare(env('COMPAT_SQL_SELECT_ITEM'))
    local select_id = select:bind_create(sysbench.sql.type.INT)
    select:bind_param(select_id)
    select_id:set(3)
    local rs = select:execute()
    equal(rs and rs.nrows, 1, 'rows of the prepared select')
    select:close()
    local three = item(3)
    equal(three[1], env('COMPAT_TEXT_MIXED'), 'label')
    equal(three[4], env('COMPAT_TEXT_MIXED_HEX'), 'HEX(label)')
    equal(three[2], nil, 'note')
    equal(three[3], '-2.25', 'amount')
  end)

  local function count(id) return row(first, 'SELECT COUNT(*) FROM ' .. items .. ' WHERE id = ' .. id)[1] end

  check('commit', function()
    first:query('BEGIN')
    first:query(bind(env('COMPAT_SQL_INSERT_ITEM'), 10, "'committed'", 'NULL', 'NULL'))
    first:query('COMMIT')
    equal(count(10), '1', 'rows with id 10')
  end)

  check('rollback', function()
    first:query('BEGIN')
    first:query(bind(env('COMPAT_SQL_INSERT_ITEM'), 11, "'rolled back'", 'NULL', 'NULL'))
    first:query('ROLLBACK')
    equal(count(11), '0', 'rows with id 11')
  end)

  check('large-result', function()
    first:query(env('COMPAT_SQL_FILL_ROWS'))
    local all = rows(first, env('COMPAT_SQL_SELECT_ROWS'))
    equal(#all, tonumber(env('COMPAT_ROWS')), 'row count')
    for i, r in ipairs(all) do
      if r[1] ~= tostring(i) or r[2] ~= 'row-' .. i then error('row ' .. i .. ' is (' .. r[1] .. ', ' .. r[2] .. ')', 0) end
    end
  end)

  check('blob-4mb', function()
    local file = assert(io.open(env('COMPAT_BLOB_FILE'), 'rb'))
    local blob = file:read('*a')
    file:close()
    local hex = blob:gsub('.', function(c) return string.format('%02X', c:byte()) end)
    first:query('INSERT INTO ' .. env('COMPAT_TABLE_BLOBS') .. " (id, data) VALUES (1, x'" .. hex .. "')")
    local digest = row(first, bind(env('COMPAT_SQL_BLOB_DIGEST'), 1))
    equal(digest[1], env('COMPAT_BLOB_BYTES'), 'LENGTH(data)')
    equal(digest[2], env('COMPAT_BLOB_MD5'), 'MD5(data)')
    local read = row(first, bind(env('COMPAT_SQL_SELECT_BLOB'), 1))[1]
    if read ~= blob then error('blob read back differs (' .. #read .. ' bytes)', 0) end
  end)

  check('error-recovery', function()
    expect_error(function() first:query(env('COMPAT_SQL_ERROR')) end, 1146)
    equal(row(first, 'SELECT 1 + 1')[1], '2', 'next statement')
  end)

  check('correl-alias', function()
    first:query('set correl_object ' .. env('COMPAT_CORREL_CLASS') .. ' ' .. env('COMPAT_CORREL_OBJECT') .. ' ' .. key)
    local second = connect()
    local ok, err = pcall(function()
      second:query('select library_by_correl_object ' .. env('COMPAT_CORREL_CLASS') .. ' ' .. env('COMPAT_CORREL_OBJECT'))
      local shown = show_library(second)
      equal(shown.library .. ' ' .. shown.key, tostring(library) .. ' ' .. key, 'show library on the new connection')
      equal(row(second, 'SELECT label FROM ' .. items .. ' WHERE id = 2')[1], env('COMPAT_TEXT_CJK'), 'row 2')
    end)
    second:disconnect()
    if not ok then error(err, 0) end
  end)

  check('quit', function()
    first:disconnect()
  end)
end

-- ---- the benchmark ------------------------------------------------------------------------------

local con, point_select, select_id, insert, insert_id, inserted

function thread_init()
  con = connect()
  con:query('select library ' .. env('COMPAT_KEY'))
  point_select = con:prepare(env('COMPAT_SQL_SELECT_ITEM'))
  select_id = point_select:bind_create(sysbench.sql.type.INT)
  point_select:bind_param(select_id)
  insert = con:prepare(env('COMPAT_SQL_INSERT_ITEM'))
  insert_id = insert:bind_create(sysbench.sql.type.INT)
  local label = insert:bind_create(sysbench.sql.type.VARCHAR, 32)
  local note = insert:bind_create(sysbench.sql.type.VARCHAR, 32)
  local amount = insert:bind_create(sysbench.sql.type.VARCHAR, 16)
  insert:bind_param(insert_id, label, note, amount)
  label:set('bench-' .. sysbench.tid)
  note:set(nil)
  amount:set('0.50')
  inserted = 0
end

function event()
  con:query('BEGIN')
  select_id:set(sysbench.rand.uniform(1, 3))
  point_select:execute()
  insert_id:set(BENCH_BASE_ID + sysbench.tid * 100000 + inserted)
  insert:execute()
  con:query('COMMIT')
  inserted = inserted + 1
end

function thread_done()
  point_select:close()
  insert:close()
  con:disconnect()
end

local function verify()
  local status, events = tonumber(env('COMPAT_BENCH_STATUS')), tonumber(env('COMPAT_BENCH_EVENTS'))
  check('benchmark', function()
    equal(status, 0, 'sysbench run exit status')
    local c = connect()
    c:query('select library ' .. env('COMPAT_KEY'))
    local n = row(c, 'SELECT COUNT(*) FROM ' .. env('COMPAT_TABLE_ITEMS') .. ' WHERE id >= ' .. BENCH_BASE_ID)[1]
    c:disconnect()
    equal(tonumber(n), events, 'rows inserted by the benchmark events')
    return events .. ' events'
  end)
end

sysbench.cmdline.commands = {
  compat = { scenario },
  verify = { verify },
}
