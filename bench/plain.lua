-- A plain GET of the URL given to wrk (pages, assets, the ceiling).
dofile("bench/report.lua")
function done(summary, latency, requests) report(summary, latency) end
