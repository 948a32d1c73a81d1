-- Give a member's ticket back: their open failed before it was recorded.
-- KEYS[2] = rp:{packet}:h, ARGV[1] = member id
return redis.call('SREM', KEYS[2], ARGV[1])
