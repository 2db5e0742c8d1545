-- GET /healthz as fast as the server answers: the floor of what that server can answer at all.
package.path = "./?.lua;" .. package.path
local common = require("common")

setup = common.setup
function done(summary, latency, requests) common.done(summary, latency) end
