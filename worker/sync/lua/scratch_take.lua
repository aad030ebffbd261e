-- Take scratch lists whole, and drop them (each is read once): one command for a batch
-- of customers' address and contact lists instead of an LRANGE and a DEL per list.
--
-- KEYS[i] a list
-- Returns {items of KEYS[1], items of KEYS[2], …} (an empty list for a missing one).
local taken = {}
for i, list in ipairs(KEYS) do
  taken[i] = redis.call('LRANGE', list, 0, -1)
  redis.call('DEL', list)
end
return taken
