-- GET a page as many different signed-in shoppers: each request takes the next
-- session from the file (lines of cookie<TAB>csrf_token).
-- wrk ... -s bench/sessions.lua URL -- SESSIONS_FILE PATH
dofile("bench/report.lua")
local cookies = {}
local path = "/balance"
local next_one = 1

function init(args)
  for line in io.lines(args[1]) do
    cookies[#cookies + 1] = line:match("^([^\t]+)")
  end
  path = args[2] or path
  next_one = math.random(#cookies)
end

function request()
  next_one = next_one % #cookies + 1
  return wrk.format("GET", path, { ["Cookie"] = cookies[next_one] })
end

function done(summary, latency, requests) report(summary, latency) end
