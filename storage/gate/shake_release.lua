-- Give back a prize ticket whose win the database did not record.
-- KEYS[1] = sk:{campaign}:p, KEYS[3] = sk:{campaign}:w, ARGV[1] = member id
local wins = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if wins <= 0 then
  return 0
end
redis.call('HINCRBY', KEYS[3], ARGV[1], -1)
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
end
return 1
