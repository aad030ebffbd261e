-- Claim the create of one record (Binder.claim_create): mark it pending on a side, and
-- say whether a create was pending before and whether the record is bound by now. It
-- runs before every create, so it is one command, not a transaction of five.
--
-- KEYS[1] the register's pending hash     KEYS[2] the register's bindings hash
-- ARGV[1] natural key                     ARGV[2] the new pending mark ("side@time")
-- Returns {the pending mark before (nil: none), 1 when the record is bound, else 0}.
local before = redis.call('HGET', KEYS[1], ARGV[1])
local bound = redis.call('HEXISTS', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {before, bound}
