-- Whether a fanned-out, running run has been quiet for ARGV[1] seconds and, if so,
-- restart its quiet clock in the same step: of two ticks looking at once, only one
-- resends the run's records.
--
-- KEYS[1] the run hash    ARGV[1] seconds without progress
-- Returns 1 when the run was quiet that long, else 0.
local s = redis.call('HMGET', KEYS[1], 'status', 'fanned_out', 'progress_at')
local now = tonumber(redis.call('TIME')[1])
if s[1] ~= 'running' or s[2] ~= '1' or now - tonumber(s[3] or '0') < tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'progress_at', now)
return 1
