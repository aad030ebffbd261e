-- Append items to their Redis lists and keep each list for a while (the customers read
-- phase's scratch lists: each address and contact under its customer). One command for
-- a whole batch of items instead of an RPUSH and an EXPIRE per item: what a command
-- costs the worker is mostly per command (issue 20).
--
-- KEYS[i] the list of item i      ARGV[i] item i (JSON)      ARGV[#KEYS + 1] TTL (s)
local ttl = ARGV[#KEYS + 1]
local seen = {}
for i, list in ipairs(KEYS) do
  redis.call('RPUSH', list, ARGV[i])
  if not seen[list] then
    redis.call('EXPIRE', list, ttl)
    seen[list] = true
  end
end
return #KEYS
