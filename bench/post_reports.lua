-- wrk script: POST realistic reports, each with its own source_ref and enterprise.
-- Environment: LW_KEY (API key), LW_RUN (a run id), LW_DELAY_MS (pause per connection
-- between requests: a fixed offered load of connections × 1000 / delay per second).
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
  delay_ms = tonumber(os.getenv("LW_DELAY_MS") or "0")
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. (os.getenv("LW_KEY") or ""),
  }
end

function delay()
  return delay_ms
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
