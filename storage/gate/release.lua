-- Give a ticket back: the open it was taken for recorded no new share.
-- KEYS[1] = rp:{packet}:t, KEYS[2] = rp:{packet}:h
-- ARGV[1] = member id, ARGV[2] = '1' if the member already holds a share
-- (keep them as a holder), '0' if their open failed (forget them).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if ARGV[2] == '1' then
  redis.call('INCR', KEYS[1])
  return 1
end
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then
  redis.call('INCR', KEYS[1])
  return 1
end
return 0
