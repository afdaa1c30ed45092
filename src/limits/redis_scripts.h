// The Lua scripts of the Redis backend. Each runs atomically inside Redis; times come from
// Redis's own clock (TIME), so replicas with skewed clocks still share one timeline.
//
// Window state is a hash {d = debt, t = last update ms}: the GCRA of local_limiter.cc with
// milliseconds, where one unit adds `window_ms` to the debt, the window holds
// limit * window_ms and drains `limit` per ms. Debts are integers, written with %.0f so no
// digits are lost to Lua's default number formatting.
#pragma once

namespace tollgate::limits::detail {

// KEYS: nw window hashes, nc concurrency zsets, nb budget counters, then (when nb > 0) the
//       key's reservation zset (member -> lease deadline) and hash (member -> nano-USD, and
//       '_sum' of them all).
// ARGV: nw, nc, nb, member, lease_ms, warn_only, reserve (nano-USD), reservation member ('':
//       none), then per window: limit, window_ms, cost, kind (1 requests, 2 tokens); per zset:
//       limit; per budget: cap (nano-USD), bit.
// A budget is over when spend + live reservations reach the cap or leave no room for
// `reserve`; expired reservations (a dead replica's) are pruned first.
// Returns {admitted, reason (0 none, 1 requests, 2 tokens, 3 concurrency, 4 budget),
//          retry_ms, too_large, over_budget_bits, then per window: remaining, reset_ms}.
// Commits (windows charged, lease added) only when admitted.
inline constexpr const char* kAdmitScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nw, nc, nb = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local member, lease, warn_only = ARGV[4], tonumber(ARGV[5]), ARGV[6] == '1'
local reserve, rmember = tonumber(ARGV[7]), ARGV[8]
local a = 9
local limit, win, before, after = {}, {}, {}, {}
local reason, retry, too_large = 0, 0, 0
for i = 1, nw do
  local cost, kind
  limit[i], win[i], cost, kind =
    tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  a = a + 4
  local h = redis.call('HMGET', KEYS[i], 'd', 't')
  local d = tonumber(h[1]) or 0
  local last = tonumber(h[2]) or now
  if now > last then d = math.max(0, d - limit[i] * (now - last)) end
  before[i] = d
  after[i] = d + cost * win[i]
  local cap = limit[i] * win[i]
  if after[i] > cap then
    if cost > limit[i] then too_large = 1 end
    local wait = math.ceil((after[i] - cap) / limit[i])
    if reason == 0 or wait > retry then reason, retry = kind, wait end
  end
end
local conc_full = false
for j = 1, nc do
  local k = KEYS[nw + j]
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  if redis.call('ZCARD', k) >= tonumber(ARGV[a]) then conc_full = true end
  a = a + 1
end
local rz, rh = KEYS[nw + nc + nb + 1], KEYS[nw + nc + nb + 2]
local reserved = 0
if nb > 0 and redis.call('EXISTS', rz) == 0 then
  -- The zset outlives every member's deadline (PEXPIRE lease at each add and renewal): gone,
  -- every reservation it held has expired.
  redis.call('DEL', rh)
elseif nb > 0 then
  local gone = redis.call('ZRANGEBYSCORE', rz, '-inf', now)
  for _, m in ipairs(gone) do
    local v = tonumber(redis.call('HGET', rh, m))
    if v then
      redis.call('HDEL', rh, m)
      redis.call('HINCRBY', rh, '_sum', -v)
    end
  end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', rz, '-inf', now) end
  reserved = tonumber(redis.call('HGET', rh, '_sum')) or 0
end
local over = 0
for j = 1, nb do
  local cap, bit = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  local used = (tonumber(redis.call('GET', KEYS[nw + nc + j])) or 0) + reserved
  if used >= cap or used + reserve > cap then over = over + bit end
end
if over > 0 and not warn_only then
  reason, retry = 4, 0
elseif reason == 0 and conc_full then
  reason, retry = 3, 1000
end
local admitted = 0
if reason == 0 then
  admitted = 1
  for i = 1, nw do
    redis.call('HSET', KEYS[i], 'd', string.format('%.0f', after[i]), 't', now)
    redis.call('PEXPIRE', KEYS[i], math.ceil(after[i] / limit[i]) + 1000)
  end
  for j = 1, nc do
    redis.call('ZADD', KEYS[nw + j], now + lease, member)
    redis.call('PEXPIRE', KEYS[nw + j], lease)
  end
  if nb > 0 and rmember ~= '' then
    redis.call('ZADD', rz, now + lease, rmember)
    redis.call('PEXPIRE', rz, lease)
    redis.call('HSET', rh, rmember, reserve)
    redis.call('HINCRBY', rh, '_sum', reserve)
  end
end
local out = {admitted, reason, retry, too_large, over}
for i = 1, nw do
  local used = before[i]
  if admitted == 1 then used = after[i] end
  out[#out + 1] = math.max(0, math.floor((limit[i] * win[i] - used) / win[i]))
  out[#out + 1] = math.ceil(used / limit[i])
end
return out
)lua";

// KEYS: nt token window hashes, nb budget counters, then (with a reservation member) the
//       reservation zset and hash.
// ARGV: nt, nb, reservation member ('': none), then per window: limit, window_ms, delta
//       tokens; per budget: nano-USD, ttl_ms (0: no expiry).
// The spend is added and the reservation removed in one step, so the budget never counts
// both or neither.
inline constexpr const char* kSettleScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nt, nb, rmember = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local a = 4
for i = 1, nt do
  local limit, win, delta = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local h = redis.call('HMGET', KEYS[i], 'd', 't')
  local d = tonumber(h[1]) or 0
  local last = tonumber(h[2]) or now
  if now > last then d = math.max(0, d - limit * (now - last)) end
  d = math.max(0, d + delta * win)
  if d > 0 then
    redis.call('HSET', KEYS[i], 'd', string.format('%.0f', d), 't', now)
    redis.call('PEXPIRE', KEYS[i], math.ceil(d / limit) + 1000)
  else
    redis.call('DEL', KEYS[i])
  end
end
for j = 1, nb do
  local k = KEYS[nt + j]
  redis.call('INCRBY', k, ARGV[a])
  local ttl = tonumber(ARGV[a + 1])
  if ttl > 0 then redis.call('PEXPIRE', k, ttl) end
  a = a + 2
end
if rmember ~= '' then
  local rz, rh = KEYS[nt + nb + 1], KEYS[nt + nb + 2]
  local v = tonumber(redis.call('HGET', rh, rmember))
  if v then
    redis.call('HDEL', rh, rmember)
    redis.call('HINCRBY', rh, '_sum', -v)
  end
  redis.call('ZREM', rz, rmember)
  if redis.call('HLEN', rh) <= 1 then redis.call('DEL', rh) end
end
return 1
)lua";

// KEYS[1]: a concurrency zset. ARGV: lease_ms, members... Extends the leases of live
// admissions, and puts them back if Redis lost them (a restart without persistence).
inline constexpr const char* kRenewScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + lease, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], lease)
return 1
)lua";

}  // namespace tollgate::limits::detail
