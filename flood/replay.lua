-- wrk script for `hotline capacity`: replay requests prepared and signed ahead, each once.
--
-- Arguments (after wrk's `--`): PREFIX MARKER [REPEAT]. Thread i reads PREFIX.i, whose
-- lines are "PATH<TAB>SIGNATURE<TAB>BODY" (the body form-encoded, so it holds no tab). Each
-- request is built once, in init(), so request() only hands out the next string. A thread
-- that runs out stops (and says so) unless REPEAT is "repeat" (for stateless targets).
-- response() looks only for MARKER in the body: the path the webhook took (the next
-- action URL, or the verb that refused the call), not a parse of the whole TwiML.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local requests = {}
local count = 0
local position = 0
local marker = ""
local repeat_all = false
matched = 0
other = 0
exhausted = 0
sample = ""

function init(args)
  marker = args[2]
  repeat_all = args[3] == "repeat"
  for line in io.lines(args[1] .. "." .. id) do
    local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature,
    }
    count = count + 1
    requests[count] = wrk.format("POST", path, headers, body)
  end
end

function request()
  position = position + 1
  if position > count then
    if repeat_all then
      position = 1
    else
      exhausted = 1
      position = count
      wrk.thread:stop()
    end
  end
  return requests[position]
end

function response(status, headers, body)
  if status == 200 and body:find(marker, 1, true) then
    matched = matched + 1
  else
    other = other + 1
    if sample == "" then
      sample = status .. " " .. body:sub(1, 300)
    end
  end
end

function done(summary, latency, requests)
  local matched_total, other_total, exhausted_total, first_sample = 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    matched_total = matched_total + thread:get("matched")
    other_total = other_total + thread:get("other")
    exhausted_total = exhausted_total + thread:get("exhausted")
    if first_sample == "" then
      first_sample = thread:get("sample")
    end
  end
  local errors = summary.errors
  io.write("REPLAY-RESULT ")
  io.write(string.format(
    '{"duration_us": %d, "requests": %d, "matched": %d, "other": %d, "exhausted_threads": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d}, "sample": "%s"}\n',
    summary.duration, summary.requests, matched_total, other_total, exhausted_total,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    (first_sample:gsub('[%c"\\]', " "))
  ))
end
