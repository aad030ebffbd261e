-- Take a record's lock for a create (worker/sync/creates.py, `creating`) and read the
-- record's binding and pending mark as they are now: one command, where a transaction
-- of six was before (issue 20).
--
-- KEYS[1] the record's lock         KEYS[2] the register's bindings
-- KEYS[3] the register's pending creates
-- ARGV[1] this attempt's token      ARGV[2] the lock's TTL (ms)      ARGV[3] natural key
-- Returns {1 when taken else 0, the lock's TTL left (ms), the binding (nil: none),
--          the pending mark (nil: none)}.
local taken = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local left = redis.call('PTTL', KEYS[1])
local binding = redis.call('HGET', KEYS[2], ARGV[3])
local pending = redis.call('HGET', KEYS[3], ARGV[3])
return {taken and 1 or 0, left, binding, pending}
