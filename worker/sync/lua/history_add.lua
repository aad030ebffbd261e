-- Add one entry to a record's history (worker/sync/history.py): newest first, at most
-- ARGV[2] entries, the list kept ARGV[3] seconds after its last entry, and entries older
-- than ARGV[4] dropped from the end. One command per synced record instead of five and
-- a read of the oldest entry (issue 20).
--
-- KEYS[1] the record's history list      KEYS[2] the connection's number → record index
-- ARGV[1] the entry (JSON)                ARGV[2] entries kept at most
-- ARGV[3] the list's TTL (s)              ARGV[4] entries before this time (s) go
-- ARGV[5] the index field ("register:number"; '' none)   ARGV[6] the record's key
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[5], ARGV[6]) end
local keep_from = tonumber(ARGV[4])
while true do
  local oldest = redis.call('LINDEX', KEYS[1], -1)
  if not oldest then break end
  local ok, entry = pcall(cjson.decode, oldest)
  -- an entry that cannot be read counts as the oldest possible, as it did before
  local at = (ok and type(entry) == 'table' and tonumber(entry['at'])) or 0
  if at >= keep_from then break end
  redis.call('RPOP', KEYS[1])
end
return 1
