-- Build a packet's gate unless it exists: its capacity and current holders.
-- KEYS[1] = rp:{packet}:c, KEYS[2] = rp:{packet}:h
-- ARGV[1] = capacity, ARGV[2] = ttl in ms, ARGV[3..] = holder member ids
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[2])
if #ARGV > 2 then
  redis.call('SADD', KEYS[2], unpack(ARGV, 3))
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
