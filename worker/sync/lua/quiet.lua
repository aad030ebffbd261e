-- Whether a running run has been quiet for ARGV[1] seconds and, if so, restart its quiet
-- clock in the same step: of two ticks looking at once, only one resends the run.
-- A run that never finished its fan-out counts from its last progress stamp (its start,
-- each staged batch, each record task) or, lacking one, from when it started.
--
-- KEYS[1] the run hash    ARGV[1] seconds without progress
-- Returns 1 when a fanned-out run was quiet that long (resend its records), 2 when a run
-- still fanning out was (resend its start), 3 when a run whose records all settled was
-- left 'finishing' that long (its finish was cut short: finish it), else 0.
local s = redis.call('HMGET', KEYS[1], 'status', 'fanned_out', 'progress_at', 'started_at')
local now = tonumber(redis.call('TIME')[1])
local since = tonumber(s[3] or s[4] or '0') or 0
if (s[1] ~= 'running' and s[1] ~= 'finishing') or now - since < tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'progress_at', now)
if s[1] == 'finishing' then return 3 end
if s[2] == '1' then return 1 end
return 2
