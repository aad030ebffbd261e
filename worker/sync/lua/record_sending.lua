-- A guarded create is about to be sent (worker/sync/creates.py): only while this
-- attempt still holds the record's lock, extend the lock and stamp the pending mark —
-- one round trip, and no write once another attempt may have taken the record over.
--
-- KEYS[1] the record lock       KEYS[2] the register's pending hash
-- ARGV[1] this attempt's token  ARGV[2] lock TTL (ms)
-- ARGV[3] natural key           ARGV[4] the pending mark ("<side>@<epoch>")
-- Returns 1 when the mark is set and the write may go, else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return 1
