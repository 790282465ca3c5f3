-- Signed webhook deliveries, read from BENCH_EVENTS (one "signature<TAB>payload" per line).
-- Each wrk thread takes every n-th line, so no event is sent twice unless the file runs out.
dofile("bench/lua/report.lua")
local threads_started = 0
local events = {}
local next_event = 1

function setup(thread)
  thread:set("thread_index", threads_started)
  threads_started = threads_started + 1
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_EVENTS")) do
    if i % nthreads == thread_index then
      local tab = line:find("\t", 1, true)
      events[#events + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
    end
    i = i + 1
  end
end

function request()
  local e = events[next_event]
  next_event = next_event + 1
  if next_event > #events then next_event = 1 end
  return wrk.format("POST", "/stripe/webhook/",
    { ["Content-Type"] = "application/json", ["Stripe-Signature"] = e[1] }, e[2])
end
