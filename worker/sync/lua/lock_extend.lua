-- Extend a lock only if its holder still holds it (see lock_release.lua).
--
-- KEYS[1] the lock    ARGV[1] the holder    ARGV[2] the new TTL (ms)
-- Returns 1 when extended, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
