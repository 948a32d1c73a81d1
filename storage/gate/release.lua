-- Give a member's ticket back (their open failed before it was recorded).
-- KEYS[1] = rp:{packet}:t, KEYS[2] = rp:{packet}:h, ARGV[1] = member id
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
  return 1
end
return 0
