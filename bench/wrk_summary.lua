-- Prints wrk's totals as one JSON line, so bench/common.py reads numbers instead of parsing wrk's report.
-- Only done() is defined: a response() hook would make wrk parse every response in Lua and slow it down.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"responses": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
end
