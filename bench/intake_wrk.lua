-- The webhook sender of bench/wrk_sender.py, run by Debian's wrk (4.1, LuaJIT):
--   wrk -t C -c C -d LIMIT -s bench/intake_wrk.lua URL -- FOLDER RESEND
-- One connection per wrk thread, so that within a thread's Lua state every response() answers
-- the one request() before it: wrk says nothing about which connection a response came on,
-- and a thread of several connections could not tell whose message was answered.
--
-- FOLDER/req.K (K the thread's number, from setup()) holds the thread's requests, already
-- signed by the bench: records of "INDEX LENGTH\n" followed by LENGTH bytes, the whole HTTP
-- request. When its last request is answered the thread writes FOLDER/out.K, one line per
-- attempt "INDEX STATUS MICROSECONDS" (status 0: the connection failed before an answer),
-- and stops; the bench waits for every out.K and then ends wrk.
--
-- RESEND "1": a request answered with anything but 2xx, or not answered, goes to the end of
-- the thread's queue and is sent again (the soak's rule); "0": each request is sent once.
--
-- Latency is timed here, request() to response(), per request: wrk's own histogram, as
-- done() sees it, has been through wrk's coordinated-omission correction (extra samples
-- for every slow request), which the Python sender's percentiles never had.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } kefu_timespec;
int clock_gettime(int clock_id, kefu_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("kefu_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000000 + math.floor(tonumber(clock.tv_nsec) / 1000)
end

-- setup() runs in wrk's main Lua state, once per thread in thread order: number them.
local threads = 0
function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

local folder, resend
local queue_index, queue_raw = {}, {}
local head, tail = 1, 0
local pending, pending_started = nil, 0
-- wrk calls request() once on its first thread before any connection opens, to check that
-- the script's request parses; that request is never sent.
local verifying = false
local out_index, out_status, out_us = {}, {}, {}
local attempts = 0
local finished = false

local function push(index, raw)
  tail = tail + 1
  queue_index[tail] = index
  queue_raw[tail] = raw
end

function init(args)
  folder = args[1]
  resend = args[2] == "1"
  verifying = thread_id == 0
  local f = assert(io.open(folder .. "/req." .. thread_id, "rb"))
  while true do
    local line = f:read("*l")
    if not line then
      break
    end
    local index, length = line:match("^(%d+) (%d+)$")
    push(tonumber(index), f:read(tonumber(length)))
  end
  f:close()
end

local function record(slot, status)
  attempts = attempts + 1
  out_index[attempts] = queue_index[slot]
  out_status[attempts] = status
  out_us[attempts] = now_us() - pending_started
  if resend and (status < 200 or status > 299) then
    push(queue_index[slot], queue_raw[slot])
  end
  queue_raw[slot] = nil -- sent (and queued again if it is resent): let the memory go
end

local function finish()
  if finished then
    return
  end
  finished = true
  local name = folder .. "/out." .. thread_id
  local f = assert(io.open(name .. ".part", "wb"))
  local lines = {}
  for i = 1, attempts do
    lines[i] = out_index[i] .. " " .. out_status[i] .. " " .. out_us[i]
  end
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  -- Whole or not there: the bench reads out.K as soon as it exists.
  assert(os.rename(name .. ".part", name))
  wrk.thread:stop()
end

function request()
  if verifying then
    verifying = false
    return queue_raw[head]
  end
  if pending then
    -- A new request on this connection before an answer to the last: wrk reconnected after a
    -- reset or close, and that message got no answer.
    record(pending, 0)
    pending = nil
  end
  if head > tail then
    finish()
    return "" -- nothing is written; the thread's loop ends
  end
  pending = head
  head = head + 1
  pending_started = now_us()
  return queue_raw[pending]
end

function response(status, headers, body)
  record(pending, status)
  pending = nil
  if head > tail then
    finish()
  end
end

-- wrk's main state, after the run: wrk's own percentiles (corrected, see the top), printed
-- for the bench to keep beside its per-request ones.
function done(summary, latency, requests)
  io.write(
    string.format(
      "kefu-wrk corrected_p50_us=%d corrected_p99_us=%d max_us=%d requests=%d\n",
      latency:percentile(50),
      latency:percentile(99),
      latency.max,
      summary.requests
    )
  )
end
