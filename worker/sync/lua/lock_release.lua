-- Release a lock only if its holder still holds it: a run whose lock expired and was
-- taken by the next run must not release that run's lock.
--
-- KEYS[1] the lock    ARGV[1] the holder
-- Returns 1 when released, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
