-- Shared by the bench's wrk scripts: a wall clock in milliseconds, feedback bodies, and a JSON summary.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local timeval = ffi.new("bench_timeval")

local common = {}

function common.now_ms()
  ffi.C.gettimeofday(timeval, nil)
  return tonumber(timeval.tv_sec) * 1000 + tonumber(timeval.tv_usec) / 1000
end

-- Healthy ratings (total 38) unless `low`, whose total of 30 on a first session opens an episode at once.
local HEALTHY = '{"relationship":9.5,"goals":9.5,"approach":9.5,"overall":9.5}'
local LOW = '{"relationship":7.5,"goals":7.5,"approach":7.5,"overall":7.5}'

-- A feedback body of a new client's first session, an hour old (older than the push horizon would be
-- history: recorded but never pushed).
function common.feedback(client_id, low)
  local session_at = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 3600)
  return string.format(
    '{"session_id":"%s-s1","therapist_id":"bench-t","client_id":"%s","session_at":"%s",'
      .. '"instrument":"srs","respondent":"client","items":%s}',
    client_id, client_id, session_at, low and LOW or HEALTHY)
end

function common.headers()
  return {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. (os.getenv("BENCH_API_KEY") or ""),
  }
end

-- Each thread gets a number, so client ids stay unique across threads; `threads` keeps them for done().
local threads, counter = {}, 0
function common.setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
  table.insert(threads, thread)
end

-- One JSON line on stdout for the bench to read: rates, latency percentiles (µs) and the failures wrk saw
-- (any answer other than 2xx/3xx counts in `status`), plus the sum of a per-thread counter if named.
function common.done(summary, latency, counted)
  local total = 0
  if counted then
    for _, thread in ipairs(threads) do total = total + (thread:get(counted) or 0) end
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"status_errors":%d,"socket_errors":%d,"counted":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout, total))
end

return common
