-- POST /checkout/{product} as many shoppers, each order with a fresh idempotency
-- key, so every request places a real order.
-- wrk ... -s bench/checkout.lua URL -- SESSIONS_FILE PRODUCT_ID
dofile("bench/report.lua")
local threads = {}
local sessions = {}
local product = "1"
local next_one = 1
local sent = 0
thread_id = 0
placed, refused = 0, 0

function setup(thread)
  thread:set("thread_id", #threads + 1)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    local cookie, token = line:match("^([^\t]+)\t(.+)$")
    sessions[#sessions + 1] = { cookie = cookie, token = token }
  end
  product = args[2] or product
  next_one = math.random(#sessions)
end

function request()
  next_one = next_one % #sessions + 1
  sent = sent + 1
  local s = sessions[next_one]
  local key = string.format("bench-%02d-%09d-%06d", thread_id, sent, math.random(999999))
  local body = "csrf_token=" .. s.token .. "&idempotency_key=" .. key
  return wrk.format("POST", "/checkout/" .. product, {
    ["Cookie"] = s.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  if status == 303 then placed = placed + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  local total_refused = 0
  for _, thread in ipairs(threads) do total_refused = total_refused + thread:get("refused") end
  report(summary, latency, total_refused)
end
