-- A sign-in storm: POST /signin from many clients (a random X-Forwarded-For, so the
-- per-address throttle, behind --trusted-proxy, sees many addresses) for random
-- shoppers, every other attempt with a wrong password. Each request uses the next
-- signed-out session from the file (cookie<TAB>csrf_token).
-- wrk ... -s bench/signin_storm.lua URL -- ANONYMOUS_SESSIONS_FILE SHOPPERS
dofile("bench/report.lua")
local threads = {}
local sessions = {}
local shoppers = 1000
local next_one = 1
local attempt = 0
server_errors = 0

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    local cookie, token = line:match("^([^\t]+)\t(.+)$")
    sessions[#sessions + 1] = { cookie = cookie, token = token }
  end
  shoppers = tonumber(args[2]) or shoppers
  next_one = math.random(#sessions)
end

function request()
  next_one = next_one % #sessions + 1
  attempt = attempt + 1
  local s = sessions[next_one]
  local password = (attempt % 2 == 0) and "load-test-password" or "a-wrong-password"
  local body = string.format("email=shopper%d%%40load.test&password=%s&csrf_token=%s",
    math.random(0, shoppers - 1), password, s.token)
  local client = string.format("198.18.%d.%d", math.random(0, 255), math.random(1, 254))
  return wrk.format("POST", "/signin", {
    ["Cookie"] = s.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = client,
  }, body)
end

function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("server_errors") end
  report(summary, latency, total)
end
