-- wrk script: POST an OpenAI chat completion (non-stream) with the headers a target needs.
--   BENCH_BODY     path of the JSON body file (required)
--   BENCH_HEADERS  extra headers, "Name: value" separated by "|" (e.g. the Authorization header)
-- At the end prints one machine-readable line:
--   WRKJSON {"requests":N,"duration_s":S,"rps":R,"p50_us":...,"p99_us":...,"errors":{...}}

local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local extra = os.getenv("BENCH_HEADERS") or ""
for h in string.gmatch(extra, "[^|]+") do
  local k, v = string.match(h, "^%s*([^:]+):%s*(.-)%s*$")
  if k then wrk.headers[k] = v end
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, s, summary.requests / s,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
