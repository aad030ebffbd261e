-- Give a running slot back and hand the first waiting message to the caller (fairness.py).
--
-- KEYS[1] the running set    KEYS[2] the waiting line    ARGV[1] token
-- Returns the message to send again, or false when none waits.
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('LPOP', KEYS[2])
