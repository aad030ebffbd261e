-- Take one of a connection's running slots, or join its waiting line (fairness.py).
--
-- KEYS[1] the running set (zset: token -> deadline, microseconds of Redis's clock)
-- KEYS[2] the waiting line (list of JSON messages to send again)
-- ARGV[1] token   ARGV[2] cap   ARGV[3] slot lifetime (s)   ARGV[4] the message to park
-- Returns 1: the slot is taken (run now); 0: the message waits in line (return now).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)  -- slots of dead tasks expire
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) or redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]) * 1000000, ARGV[1])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) + 60)
  return 1
end
redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], 7 * 86400)
return 0
