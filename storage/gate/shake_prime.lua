-- Build a campaign's gate unless it exists: prizes left and wins per member.
-- KEYS[1] = sk:{campaign}:p, KEYS[2] = sk:{campaign}:n, KEYS[3] = sk:{campaign}:w
-- ARGV[1] = prizes left, ARGV[2] = ttl in ms, ARGV[3..] = member id, wins, member id, wins, ...
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[3])
if #ARGV > 2 then
  redis.call('HSET', KEYS[3], unpack(ARGV, 3))
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
redis.call('SET', KEYS[2], '0', 'NX')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
