-- Reserve one token of a shared bucket (ratelimit.py): the count may go below zero, and
-- the caller sleeps until its reserved slot comes. The clock is Redis's, so processes
-- with skewed clocks still agree.
--
-- KEYS[1] the bucket    ARGV[1] rate (tokens per second)    ARGV[2] capacity (burst)
-- Returns the wait in microseconds before the caller may send (0: now).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
local ttl = math.ceil((capacity - tokens) / rate) + 60
redis.call('EXPIRE', KEYS[1], ttl)
if tokens >= 0 then return 0 end
return math.ceil(-tokens * 1000000 / rate)
