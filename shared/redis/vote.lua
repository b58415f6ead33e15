--[[ vote.lua: accept or refuse one vote, atomically (no other command runs in between).
  KEYS[1] content-exists bitmap   KEYS[2] lock   KEYS[3] window counter   KEYS[4] votes stream
  KEYS[5] the voter's request counter (per minute)
          (all five share one {shard} hash tag, so the script touches one Cluster slot)
  ARGV[1] user id   ARGV[2] content id   ARGV[3] score 0..5
  ARGV[4] limit: votes accepted per window   ARGV[5] window length, s   ARGV[6] lock length, s
  ARGV[7] deadline, ms on Redis' clock: past it the caller has already answered 503, so do nothing
  ARGV[8] the voter's request limit per minute (RATE_LIMIT_PER_MINUTE)
  Returns
    {1, entry id}          accepted: counted in the window and appended to the stream
    {0, ms left on lock}   refused: locked now, or this vote was one too many and locked it
    {-1}                   refused: no such content (its bit is 0)
    {-2}                   refused: the bitmap is incomplete (bit 0 unset: Redis lost its data), rebuild it
    {-3}                   refused: deadline passed
    {-4, ms left}          refused: the voter is over their request limit for this minute
  Invariant: a vote is in the stream iff it was counted in the window; at most `limit` per window.
  Apart from the voter's request counter, writes happen only after every check, and XADD before the
  window's INCR: an error leaves no vote half-done. ]]
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if nowMs > tonumber(ARGV[7]) then return {-3} end
-- Before counting the request: the caller rebuilds the index and sends this vote again.
if redis.call('GETBIT', KEYS[1], 0) == 0 then return {-2} end

-- The per-user request limit lives here, not in a separate round trip: every vote request counts,
-- accepted or not, in a fixed one-minute window that opens with the first request.
local requests = redis.call('INCR', KEYS[5])
if requests == 1 then redis.call('PEXPIRE', KEYS[5], 60000) end
if requests > tonumber(ARGV[8]) then
  local left = redis.call('PTTL', KEYS[5])
  if left < 0 then redis.call('PEXPIRE', KEYS[5], 60000); left = 60000 end
  return {-4, left}
end

if redis.call('GETBIT', KEYS[1], ARGV[2]) == 0 then return {-1} end

local lockLeft = redis.call('PTTL', KEYS[2])
if lockLeft > 0 then return {0, lockLeft} end

local limit = tonumber(ARGV[4])
local counted = tonumber(redis.call('GET', KEYS[3]) or '0')
if counted >= limit then
  -- One too many: lock the content. The window is dropped so a new one opens after the lock.
  local lockMs = tonumber(ARGV[6]) * 1000
  redis.call('SET', KEYS[2], nowMs + lockMs, 'PX', lockMs)
  redis.call('DEL', KEYS[3])
  return {0, lockMs}
end

local id = redis.call('XADD', KEYS[4], '*', 'user', ARGV[1], 'content', ARGV[2], 'score', ARGV[3], 'ts', nowMs)
-- The window opens with its first vote and expires with it.
if redis.call('INCR', KEYS[3]) == 1 then
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
return {1, id}
