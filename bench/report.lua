-- Shared by the wrk scripts: prints one machine-readable line at the end.
-- RESULT <requests/s> <p50 ms> <p99 ms> <errors> <requests>
-- Errors are socket errors, timeouts and 5xx answers (counted by `response` in the
-- scripts that define it); other statuses are the scenario's business.
function report(summary, latency, server_errors)
  local seconds = summary.duration / 1e6
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    socket + (server_errors or summary.errors.status),
    summary.requests))
end
