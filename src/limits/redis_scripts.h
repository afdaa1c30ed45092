// The Lua scripts of the Redis backend. Each runs atomically inside Redis; times come from
// Redis's own clock (TIME), so replicas with skewed clocks still share one timeline.
//
// Window state is a hash {d = debt, t = last update ms}: the GCRA of local_limiter.cc with
// milliseconds, where one unit adds `window_ms` to the debt, the window holds
// limit * window_ms and drains `limit` per ms. Debts are integers, written with %.0f so no
// digits are lost to Lua's default number formatting.
#pragma once

namespace tollgate::limits::detail {

// KEYS: nw window hashes, nc concurrency zsets, then per budget group (the key's, the team's):
//       its nb counters, its reservation zset (member -> lease deadline) and hash (member ->
//       nano-USD, and '_sum' of them all).
// ARGV: nw, nc, ng, member, lease_ms, reserve (nano-USD), then per window: limit, window_ms,
//       cost, kind (1 requests, 2 tokens); per zset: limit; per group: nb, warn_only,
//       reservation member ('': none), then per counter: cap (nano-USD), bit.
// A budget is over when spend + live reservations reach the cap or leave no room for
// `reserve`; expired reservations (a dead replica's) are pruned first. A hard group over
// refuses; a warn group over only sets its bits in over_warn.
// Returns {admitted, reason (0 none, 1 requests, 2 tokens, 3 concurrency, 4 budget),
//          retry_ms, too_large, over_hard_bits, over_warn_bits, then per window: remaining,
//          reset_ms}.
// Commits (windows charged, leases and reservations added) only when admitted.
inline constexpr const char* kAdmitScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nw, nc, ng = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local member, lease, reserve = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local a = 7
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
local over_hard, over_warn = 0, 0
local held = {}
local k = nw + nc
for g = 1, ng do
  local nb, warn_only, rmember = tonumber(ARGV[a]), ARGV[a + 1] == '1', ARGV[a + 2]
  a = a + 3
  local rz, rh = KEYS[k + nb + 1], KEYS[k + nb + 2]
  local reserved = 0
  if redis.call('EXISTS', rz) == 0 then
    -- The zset outlives every member's deadline (PEXPIRE lease at each add and renewal): gone,
    -- every reservation it held has expired.
    redis.call('DEL', rh)
  else
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
  for j = 1, nb do
    local cap, bit = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    a = a + 2
    local used = (tonumber(redis.call('GET', KEYS[k + j])) or 0) + reserved
    if used >= cap or used + reserve > cap then
      if warn_only then over_warn = over_warn + bit else over_hard = over_hard + bit end
    end
  end
  if rmember ~= '' then held[#held + 1] = {rz, rh, rmember} end
  k = k + nb + 2
end
if over_hard > 0 then
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
  for _, h in ipairs(held) do
    redis.call('ZADD', h[1], now + lease, h[3])
    redis.call('PEXPIRE', h[1], lease)
    redis.call('HSET', h[2], h[3], reserve)
    redis.call('HINCRBY', h[2], '_sum', reserve)
  end
end
local out = {admitted, reason, retry, too_large, over_hard, over_warn}
for i = 1, nw do
  local used = before[i]
  if admitted == 1 then used = after[i] end
  out[#out + 1] = math.max(0, math.floor((limit[i] * win[i] - used) / win[i]))
  out[#out + 1] = math.ceil(used / limit[i])
end
return out
)lua";

// KEYS: nt token window hashes, then per budget group: its day, month and total counters, its
//       reservation zset and hash.
// ARGV: nt, ng, day_ttl_ms, month_ttl_ms, then per window: limit, window_ms, delta tokens;
//       per group: nano-USD spent (0: none), reservation member ('': none).
// The spend is added and the reservation removed in one step, so the budget never counts
// both or neither. Returns per group the counters after the spend {day, month, total} (0s
// when none was added): a budget alert is due where one crossed a threshold.
inline constexpr const char* kSettleScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nt, ng = tonumber(ARGV[1]), tonumber(ARGV[2])
local day_ttl, month_ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local a = 5
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
local out = {}
local k = nt
for g = 1, ng do
  local nano, rmember = ARGV[a], ARGV[a + 1]
  a = a + 2
  if tonumber(nano) > 0 then
    out[#out + 1] = redis.call('INCRBY', KEYS[k + 1], nano)
    redis.call('PEXPIRE', KEYS[k + 1], day_ttl)
    out[#out + 1] = redis.call('INCRBY', KEYS[k + 2], nano)
    redis.call('PEXPIRE', KEYS[k + 2], month_ttl)
    out[#out + 1] = redis.call('INCRBY', KEYS[k + 3], nano)
  else
    for _ = 1, 3 do out[#out + 1] = 0 end
  end
  if rmember ~= '' then
    local rz, rh = KEYS[k + 4], KEYS[k + 5]
    local v = tonumber(redis.call('HGET', rh, rmember))
    if v then
      redis.call('HDEL', rh, rmember)
      redis.call('HINCRBY', rh, '_sum', -v)
    end
    redis.call('ZREM', rz, rmember)
    if redis.call('HLEN', rh) <= 1 then redis.call('DEL', rh) end
  end
  k = k + 5
end
return out
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
