-- Note a batch fanned out while its side is still being read, and count what has fanned
-- out so far as the run's provisional 'expected' (for progress bars). The finish waits
-- for the fan-out's own count (fanned_out.lua), and a redelivered start of a run that has
-- one leaves it alone, so this never ends a run early.
--
-- KEYS[1] the run hash    KEYS[2] the run's streamed set
-- ARGV[1] staging TTL (s) ARGV[2…] the batch's natural keys
redis.call('SADD', KEYS[2], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'fanned_out') ~= '1' then
  redis.call('HSET', KEYS[1], 'expected', redis.call('SCARD', KEYS[2]))
end
