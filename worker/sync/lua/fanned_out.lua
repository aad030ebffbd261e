-- The fan-out is done: record how many records the run has and whether all of them have
-- already settled (a fast worker, or a redelivered start of a run that had settled them).
--
-- KEYS[1] the run hash    ARGV[1] the number of records the run fanned out
-- Returns 1 when every record has settled (the run is now 'finishing'), else 0.
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'expected', ARGV[1], 'fanned_out', '1', 'progress_at', t[1])
local s = redis.call('HMGET', KEYS[1], 'status', 'settled')
if s[1] == 'running' and tonumber(s[2] or '0') >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', 'finishing')
  return 1
end
return 0
