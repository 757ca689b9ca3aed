#!/usr/bin/sysbench
-- mysqlda's sysbench workloads (npm run bench). One script, the workload chosen with --workload:
--   point_text   SELECT c FROM sbtest1 WHERE id = <n>, as text (COM_QUERY)
--   point_ps     the same statement prepared once per connection (COM_STMT_EXECUTE)
--   read_only    BEGIN, 10 point selects, 4 range selects (simple, SUM, ORDER BY, DISTINCT), COMMIT
--   big_rows     SELECT * FROM big_rows (a large result set), one per event
--   blob         SELECT b FROM big_blob (one large value), one per event
--   churn        connect, authenticate, [select library], SELECT 1, quit: one connection per event
--   new_keys     select library <a key never seen before>: one new assignment per event
-- With --library-key set (the mysqlda path), every connection sends `select library <key><thread id>` before its
-- statements; empty (direct MariaDB, haproxy) sends nothing extra.

sysbench.cmdline.options = {
  workload = {"point_text, point_ps, read_only, big_rows, blob, churn or new_keys", "point_text"},
  table_size = {"rows in sbtest1", 10000},
  library_key = {"key prefix for `select library` (empty: no routing statement)", ""},
  run_id = {"makes new_keys keys unique across runs", "0"},
}

local workloads -- filled in below, once the functions exist
local drv
local chosen
local con
local stmt
local param

local function routed_connection()
  local c = drv:connect()
  local prefix = sysbench.opt.library_key
  if prefix ~= "" then
    c:query("select library " .. prefix .. sysbench.tid)
  end
  return c
end

function thread_init()
  chosen = workloads[sysbench.opt.workload]
  if chosen == nil then error("unknown --workload " .. tostring(sysbench.opt.workload)) end
  drv = sysbench.sql.driver()
  if sysbench.opt.workload == "churn" then return end
  con = routed_connection()
  if sysbench.opt.workload == "point_ps" then
    stmt = con:prepare("SELECT c FROM sbtest1 WHERE id = ?")
    param = stmt:bind_create(sysbench.sql.type.INT)
    stmt:bind_param(param)
  end
end

function thread_done()
  if stmt then stmt:close() end
  if con then con:disconnect() end
end

local function random_id()
  return sysbench.rand.uniform(1, sysbench.opt.table_size)
end

local function point_text()
  con:query(string.format("SELECT c FROM sbtest1 WHERE id = %d", random_id()))
end

local function point_ps()
  param:set(random_id())
  stmt:execute()
end

local function read_only()
  con:query("BEGIN")
  for _ = 1, 10 do point_text() end
  local first = sysbench.rand.uniform(1, sysbench.opt.table_size - 100)
  local last = first + 99
  con:query(string.format("SELECT c FROM sbtest1 WHERE id BETWEEN %d AND %d", first, last))
  con:query(string.format("SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN %d AND %d", first, last))
  con:query(string.format("SELECT c FROM sbtest1 WHERE id BETWEEN %d AND %d ORDER BY c", first, last))
  con:query(string.format("SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN %d AND %d ORDER BY c", first, last))
  con:query("COMMIT")
end

local function churn()
  local c = routed_connection()
  c:query("SELECT 1")
  c:disconnect()
end

local new_key_count = 0
local function new_keys()
  new_key_count = new_key_count + 1
  con:query(string.format("select library nk%s_%d_%d", sysbench.opt.run_id, sysbench.tid, new_key_count))
end

workloads = {
  point_text = point_text,
  point_ps = point_ps,
  read_only = read_only,
  big_rows = function() con:query("SELECT * FROM big_rows") end,
  blob = function() con:query("SELECT b FROM big_blob") end,
  churn = churn,
  new_keys = new_keys,
}

function event()
  chosen()
end
