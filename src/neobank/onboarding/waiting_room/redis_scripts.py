"""The Redis store's Lua scripts: each step runs atomically in Redis, so any number of bank
processes share one FIFO queue, one set of slots and one admission count.

Keys (KEYS[1..6]): the waiting queue (zset, score = ticket sequence number), the last poll of
each waiting ticket (zset, score = time), the active slots (zset, score = slot expiry), the
limiter state (hash), admissions per second (hash), totals (hash). A ticket is a hash at
`<prefix>t:<ticket_id>`. Times are the callers' epoch seconds.
"""

from __future__ import annotations

__all__ = ["ENTER", "RELEASE", "SAVE_LIMITER", "STATS"]

# ARGV[1..8]: now (or 'server': Redis's own clock), slot_ttl_s, ticket_idle_s,
# sweep_batch_max, rate_window_s, limit_initial,
# ticket key prefix, waiting ticket key TTL (s).
_PRELUDE = """
local queue, seen, active = KEYS[1], KEYS[2], KEYS[3]
local limiter, rate, totals = KEYS[4], KEYS[5], KEYS[6]
local now = tonumber(ARGV[1])
local now_text = ARGV[1]
if ARGV[1] == 'server' then
  -- One clock for every API process: issue and admission times stay in queue order.
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  now_text = string.format('%.6f', now)
end
local slot_ttl = tonumber(ARGV[2])
local idle_s = tonumber(ARGV[3])
local sweep_max = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local limit_initial = tonumber(ARGV[6])
local prefix = ARGV[7]
local waiting_ttl = tonumber(ARGV[8])

local function expire()
  redis.call('ZREMRANGEBYSCORE', active, '-inf', now)
  local idle = redis.call('ZRANGEBYSCORE', seen, '-inf', now - idle_s, 'LIMIT', 0, sweep_max)
  for _, id in ipairs(idle) do
    redis.call('ZREM', queue, id)
    redis.call('ZREM', seen, id)
    redis.call('DEL', prefix .. id)
  end
end

local function current_limit()
  return math.floor(tonumber(redis.call('HGET', limiter, 'limit') or limit_initial))
end

local function rate_sample()
  local horizon = math.floor(now) - window
  local fields = redis.call('HGETALL', rate)
  local count, oldest = 0, nil
  for i = 1, #fields, 2 do
    local second = tonumber(fields[i])
    if second <= horizon then
      redis.call('HDEL', rate, fields[i])
    else
      count = count + tonumber(fields[i + 1])
      if oldest == nil or second < oldest then oldest = second end
    end
  end
  if oldest == nil then return count, '' end
  return count, string.format('%d', oldest)
end
"""

# ARGV[9..12]: mode ('take' or 'poll'), ticket id, flow, jti; ARGV[13]: waiting_max;
# ARGV[14]: the calling process's cap on the limit ('' for none).
ENTER = (
    _PRELUDE
    + """
local mode, id = ARGV[9], ARGV[10]
local key = prefix .. id
expire()
if mode == 'take' then
  if redis.call('ZCARD', queue) >= tonumber(ARGV[13]) then return {'full'} end
  local seq = redis.call('HINCRBY', totals, 'tickets_total', 1)
  redis.call('HSET', key, 'flow', ARGV[11], 'jti', ARGV[12], 'issued_at', now_text)
  redis.call('EXPIRE', key, waiting_ttl)
  redis.call('ZADD', queue, seq, id)
  redis.call('ZADD', seen, now, id)
else
  if redis.call('EXISTS', key) == 0 then return {'missing'} end
  if redis.call('HEXISTS', key, 'admitted_at') == 1 then
    -- The slot ran out (by the callers' clock): the ticket is over, as in memory.
    if not redis.call('ZSCORE', active, id) then
      redis.call('DEL', key)
      return {'missing'}
    end
  elseif redis.call('ZSCORE', queue, id) then
    redis.call('ZADD', seen, 'XX', now, id)
    redis.call('EXPIRE', key, waiting_ttl)
  else
    redis.call('DEL', key)
    return {'missing'}
  end
end

local limit = current_limit()
local in_force = limit
local cap = tonumber(ARGV[14])
if cap and cap < limit then in_force = cap end
local free = in_force - redis.call('ZCARD', active)
local admitted = 0
while free > 0 do
  local popped = redis.call('ZPOPMIN', queue, free)
  if #popped == 0 then break end
  for i = 1, #popped, 2 do
    local other = popped[i]
    redis.call('ZREM', seen, other)
    if redis.call('EXISTS', prefix .. other) == 1 then
      redis.call('HSET', prefix .. other, 'admitted_at', now_text)
      redis.call('EXPIRE', prefix .. other, math.ceil(slot_ttl))
      redis.call('ZADD', active, now + slot_ttl, other)
      admitted = admitted + 1
      free = free - 1
    end
  end
end
if admitted > 0 then
  redis.call('HINCRBY', totals, 'admitted_total', admitted)
  redis.call('HINCRBY', rate, string.format('%d', math.floor(now)), admitted)
end

local rank = redis.call('ZRANK', queue, id)
local t = redis.call('HMGET', key, 'flow', 'jti', 'issued_at', 'admitted_at')
local count, oldest = rate_sample()
return {'ok', t[1], t[2], t[3], t[4] or '', rank or -1, admitted, count, oldest,
        redis.call('ZCARD', queue), redis.call('ZCARD', active), limit}
"""
)

STATS = (
    _PRELUDE
    + """
expire()
local count, oldest = rate_sample()
local t = redis.call('HMGET', totals, 'admitted_total', 'tickets_total')
return {redis.call('ZCARD', queue), redis.call('ZCARD', active), current_limit(),
        tonumber(t[1] or 0), tonumber(t[2] or 0), count, oldest}
"""
)

# KEYS[1..4]: queue, seen, active, the ticket's hash; ARGV[1] ticket id.
RELEASE = """
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[4])
return 1
"""

# KEYS[1]: limiter; ARGV: expected version, limit, long RTT (s), samples.
SAVE_LIMITER = """
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', version + 1, 'limit', ARGV[2], 'long_rtt_s', ARGV[3],
           'samples', ARGV[4])
return 1
"""
