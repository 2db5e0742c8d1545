-- POST /v1/events:batch with BENCH_ITEMS feedback items (default 500, the most a batch takes), each a new
-- client: the batch endpoint's items per second.
package.path = "./?.lua;" .. package.path
local common = require("common")

local tag = os.getenv("BENCH_TAG") or "b"
local items = tonumber(os.getenv("BENCH_ITEMS") or "500")
local headers = common.headers()

setup = common.setup

function init(args) sent = 0 end

function request()
  sent = sent + 1
  local parts = {}
  for item = 1, items do
    local client_id = string.format("%s-%d-%d-%d", tag, thread_number, sent, item)
    parts[item] = '{"type":"feedback.submitted","data":' .. common.feedback(client_id, false) .. "}"
  end
  local body = '{"events":[' .. table.concat(parts, ",") .. "]}"
  return wrk.format("POST", "/v1/events:batch", headers, body)
end

function done(summary, latency, requests) common.done(summary, latency) end
