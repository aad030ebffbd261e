-- Settle one record of a run: bind it (when its settle created or found it), count it
-- once, note progress, say whether it was the last. It runs once per record, so
-- everything a settled record changes is one round trip — and one command (issue 20).
--
-- KEYS[1] the run hash          KEYS[2] the run's settled set    KEYS[3] the register's lock
-- KEYS[4] error-list entries    KEYS[5] error-list order
-- KEYS[6] the register's bindings                KEYS[7] the register's pending creates
-- ARGV[1] natural key           ARGV[2] counter (created, updated, …)
-- ARGV[3] staging TTL (s)       ARGV[4] the run id (the lock's holder)
-- ARGV[5] lock TTL (ms)         ARGV[6] the record's binding (JSON; '' none: left as is)
-- ARGV[7…] error-list entry ids the record resolves (R-4.3)
-- Returns 1 when this record was the run's last (the run is now 'finishing'), else 0.
if ARGV[6] ~= '' then
  -- Binder.bind: the binding, and the create it ends is no longer pending
  redis.call('HSET', KEYS[6], ARGV[1], ARGV[6])
  redis.call('HDEL', KEYS[7], ARGV[1])
end
local added = redis.call('SADD', KEYS[2], ARGV[1])
if added == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
  redis.call('HINCRBY', KEYS[1], 'settled', 1)
end
redis.call('EXPIRE', KEYS[2], ARGV[3])
if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'progress_at', t[1])
if #ARGV > 6 then
  redis.call('HDEL', KEYS[4], unpack(ARGV, 7))
  redis.call('ZREM', KEYS[5], unpack(ARGV, 7))
end
local s = redis.call('HMGET', KEYS[1], 'status', 'fanned_out', 'expected', 'settled')
if s[1] == 'running' and s[2] == '1' and tonumber(s[4]) >= tonumber(s[3]) then
  redis.call('HSET', KEYS[1], 'status', 'finishing')
  return 1
end
return 0
