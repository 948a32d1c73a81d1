-- Grab one ticket of a packet for a member, atomically.
-- KEYS[1] = rp:{packet}:c  how many tickets the packet has in all
-- KEYS[2] = rp:{packet}:h  members holding a ticket; tickets left = c - |h|,
--           so giving a ticket back is just forgetting its holder.
-- ARGV[1] = member id
-- Returns 1 granted, 2 already held, 0 none left, -1 gate missing (rebuild it).
local capacity = redis.call('GET', KEYS[1])
if not capacity then
  return -1
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return 2
end
if redis.call('SCARD', KEYS[2]) >= tonumber(capacity) then
  return 0
end
redis.call('SADD', KEYS[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 1
