-- POST /v1/feedback, each request a new client (so scoring sees no resubmission).
--   BENCH_TAG        prefix of the client ids (unique per run)
--   BENCH_RATE       requests per second over all threads; 0 or unset: as fast as answers come
--   BENCH_THREADS    the -t given to wrk (the rate is split between threads)
--   BENCH_ALERT_EVERY every Nth request of a thread is a low rating that alerts; its client id carries the
--                    wall-clock time it was sent (ms), so the webhook's arrival time gives the latency
package.path = "./?.lua;" .. package.path
local common = require("common")

local tag = os.getenv("BENCH_TAG") or "w"
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
local alert_every = tonumber(os.getenv("BENCH_ALERT_EVERY") or "0")
local headers = common.headers()

setup = common.setup

function init(args)
  sent, alerts = 0, 0
  interval = rate > 0 and 1000 * thread_count / rate or 0
  next_due = nil
end

-- A fixed arrival schedule per thread: each request takes the next slot, whatever the answers' speed (a
-- connection behind schedule sends at once). Without a rate, no delay at all.
function delay()
  if interval == 0 then return 0 end
  local now = common.now_ms()
  next_due = next_due or now
  local wait = next_due - now
  next_due = next_due + interval
  return wait > 0 and wait or 0
end

function request()
  sent = sent + 1
  local low = alert_every > 0 and sent % alert_every == 0
  local client_id
  if low then
    alerts = alerts + 1
    client_id = string.format("%s-a%d-%d-%d", tag, thread_number, sent, math.floor(common.now_ms()))
  else
    client_id = string.format("%s-h%d-%d", tag, thread_number, sent)
  end
  return wrk.format("POST", "/v1/feedback", headers, common.feedback(client_id, low))
end

function done(summary, latency, requests) common.done(summary, latency, "alerts") end
