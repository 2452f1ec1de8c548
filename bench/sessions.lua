-- GET a page as many different signed-in shoppers: each request is the next
-- session's (lines of cookie<TAB>csrf_token in the file).
-- wrk ... -s bench/sessions.lua URL -- SESSIONS_FILE PATH
--
-- The requests are formatted once in `init`: wrk shares the server's two CPUs,
-- and formatting each request in Lua cost it about 2 µs of CPU per request
-- (a quarter of its user time), taken from the server being measured.
dofile("bench/report.lua")
local requests = {}
local next_one = 1

function init(args)
  local path = args[2] or "/balance"
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("GET", path, { ["Cookie"] = line:match("^([^\t]+)") })
  end
  next_one = math.random(#requests)
end

function request()
  next_one = next_one % #requests + 1
  return requests[next_one]
end

function done(summary, latency, requests) report(summary, latency) end
