-- A record task of the run starts or retries: restart the run's quiet clock, so the stall
-- check does not resend records still being tried. A run that has ended and expired (or
-- never existed) is left alone: no hash is created for it.
--
-- KEYS[1] the run hash
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'progress_at', redis.call('TIME')[1])
end
