-- wrk script: POST realistic reports, each with its own source_ref and enterprise.
-- Environment: LW_KEY (API key), LW_RUN (a run id), LW_RATE (requests per second offered
-- by all threads together; unset or 0: as fast as the connections go), LW_THREADS (wrk's -t).
--
-- With LW_RATE, each thread sends on a fixed schedule: a connection that is ready waits for
-- the thread's next free slot. The offered rate then holds whatever the latency, as long as
-- some connection is free; if none is, the schedule slips and the rate reached is lower, which
-- the results say (requests / duration).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } lw_timespec;
int clock_gettime(int clk_id, lw_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("lw_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  tid = tid or 0
  counter = 0
  run = os.getenv("LW_RUN") or "bench"
  local rate = tonumber(os.getenv("LW_RATE") or "0")
  local nthreads = tonumber(os.getenv("LW_THREADS") or "1")
  interval_ms = rate > 0 and (1000 * nthreads / rate) or 0
  next_slot = now_ms()
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. (os.getenv("LW_KEY") or ""),
  }
end

function delay()
  if interval_ms == 0 then
    return 0
  end
  local now = now_ms()
  local slot = math.max(next_slot, now)  -- no catching up in a burst after a slip
  next_slot = slot + interval_ms
  return math.floor(slot - now)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"source":"agency","source_ref":"%s-%d-%d","jurisdiction":"changchun",' ..
    '"region":"chaoyang","occurred_at":"2026-11-20T09:30:00+08:00",' ..
    '"enterprise":{"name":"长春压测%s-%d-%d建筑劳务有限公司","industry":"construction"},' ..
    '"category":"wage_arrears","workers_involved":35,"amount_yuan":"1200000.00",' ..
    '"terminations":0,"collective_action":"possible","summary":"拖欠35名农民工工资约120万元",' ..
    '"demands":"支付拖欠工资","location":"朝阳区某工地",' ..
    '"reporter":{"name":"李四","phone":"13800138000"}}',
    run, tid, counter, run, tid, counter)
  return wrk.format("POST", "/v1/reports", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
