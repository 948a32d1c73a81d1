-- One shake of a campaign, atomically: prize counter, cooldown, win count.
-- KEYS[1] = sk:{campaign}:p  prizes left
-- KEYS[2] = sk:{campaign}:n  shakes counted so far
-- KEYS[3] = sk:{campaign}:w  wins per member (hash)
-- KEYS[4] = sk:{campaign}:c:<member>  the member's cooldown
-- ARGV[1] = member id, ARGV[2] = interval ms, ARGV[3] = max wins,
-- ARGV[4] = 1 if this shake should win when a prize is left
-- Returns {verdict, prizes left, shakes, wait ms}; verdict:
-- 1 win, 0 lose, 2 cooldown, 3 maxed, 4 no prize left, -1 gate missing (rebuild it).
local left = redis.call('GET', KEYS[1])
if not left then
  return {-1, 0, 0, 0}
end
left = tonumber(left)
local shakes = tonumber(redis.call('GET', KEYS[2]) or '0')
if left <= 0 then
  return {4, 0, shakes, 0}
end
local wins = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if wins >= tonumber(ARGV[3]) then
  return {3, left, shakes, 0}
end
if tonumber(ARGV[2]) > 0 then
  local wait = redis.call('PTTL', KEYS[4])
  if wait > 0 then
    return {2, left, shakes, wait}
  end
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
end
shakes = redis.call('INCR', KEYS[2])
if ARGV[4] ~= '1' then
  return {0, left, shakes, 0}
end
left = redis.call('DECR', KEYS[1])
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return {1, left, shakes, 0}
