--[[ vote.lua: accept or refuse one vote, atomically (no other command runs in between).
  Called through shared/redis/vote-script.ts, which is the only caller and mirrors this header.
  KEYS[1] content-exists bitmap (bit 0 set: the bitmap is complete; bit n set: content n exists)
  KEYS[2] the content's window: votes accepted in the open window (> 0), or while the content is
          locked, minus the lock's end in ms on Redis' clock (< 0); absent: no window open
  KEYS[3] votes stream   KEYS[4] the voter's request counter (per minute)
  KEYS[5] the shard's live locks (sorted set: content id by lock end, ms); also the name of the
          channel a new lock is announced on ("<content id> <lock end ms>"), so API processes
          show it in reads they serve from memory
          (all five share one {shard} hash tag, so the script touches one Cluster slot)
  ARGV[1] user id   ARGV[2] content id   ARGV[3] score 0..5
  ARGV[4] deadline, ms on Redis' clock: past it the caller has already answered 503, so do nothing
  ARGV[5] limit: votes accepted per window   ARGV[6] window length, s   ARGV[7] lock length, s
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
  window's INCR: an error leaves no vote half-done.
  Cost: six commands for an accepted vote (Redis CPU per vote is the API's scaling limit on one
  node): the lock lives in the window key, so one GET answers "locked?" and "how many?", and one
  BITFIELD_RO reads both bits of the content index. ]]
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if nowMs > tonumber(ARGV[4]) then return {-3} end
local bits = redis.call('BITFIELD_RO', KEYS[1], 'GET', 'u1', 0, 'GET', 'u1', ARGV[2])
-- Before counting the request: the caller rebuilds the index and sends this vote again.
if bits[1] == 0 then return {-2} end

-- The per-user request limit lives here, not in a separate round trip: every vote request counts,
-- accepted or not, in a fixed one-minute window that opens with the first request.
local requests = redis.call('INCR', KEYS[4])
if requests == 1 then redis.call('PEXPIRE', KEYS[4], 60000) end
if requests > tonumber(ARGV[8]) then
  local left = redis.call('PTTL', KEYS[4])
  if left < 0 then redis.call('PEXPIRE', KEYS[4], 60000); left = 60000 end
  return {-4, left}
end

if bits[2] == 0 then return {-1} end

local counted = tonumber(redis.call('GET', KEYS[2]) or '0')
if counted < 0 then
  -- Locked: the value is minus the lock's end. At least 1 ms: the key expires at that end, so a
  -- value still here is a lock still holding.
  return {0, math.max(1, -counted - nowMs)}
end
if counted >= tonumber(ARGV[5]) then
  -- One too many: lock the content. The window becomes the lock, so a new window opens after it.
  local lockMs = tonumber(ARGV[7]) * 1000
  local untilMs = nowMs + lockMs
  redis.call('SET', KEYS[2], -untilMs, 'PX', lockMs)
  -- Rare (once per lock), so the bookkeeping costs nothing per vote: the set lets a process that
  -- (re)connects learn every live lock, the message tells the connected ones at once.
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', nowMs)
  redis.call('ZADD', KEYS[5], untilMs, ARGV[2])
  if redis.call('PTTL', KEYS[5]) < lockMs then redis.call('PEXPIRE', KEYS[5], lockMs) end
  redis.call('PUBLISH', KEYS[5], ARGV[2] .. ' ' .. string.format('%d', untilMs))
  return {0, lockMs}
end

local id = redis.call('XADD', KEYS[3], '*', 'user', ARGV[1], 'content', ARGV[2], 'score', ARGV[3])
-- The window opens with its first vote and expires with it.
if redis.call('INCR', KEYS[2]) == 1 then
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return {1, id}
