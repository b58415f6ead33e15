--[[ vote.lua: accept or refuse one vote, atomically (no other command runs in between).
  KEYS[1] content-exists bitmap   KEYS[2] lock   KEYS[3] window counter   KEYS[4] votes stream
          (all four share one {shard} hash tag, so the script touches one Cluster slot)
  ARGV[1] user id   ARGV[2] content id   ARGV[3] score 0..5
  ARGV[4] limit: votes accepted per window   ARGV[5] window length, s   ARGV[6] lock length, s
  ARGV[7] deadline, ms on Redis' clock: past it the caller has already answered 503, so do nothing
  Returns
    {1, entry id}          accepted: counted in the window and appended to the stream
    {0, ms left on lock}   refused: locked now, or this vote was one too many and locked it
    {-1}                   refused: no such content (its bit is 0)
    {-2}                   refused: the bitmap is incomplete (bit 0 unset: Redis lost its data), rebuild it
    {-3}                   refused: deadline passed
  Invariant: a vote is in the stream iff it was counted in the window; at most `limit` per window.
  Writes happen only after every check, and XADD before INCR: an error leaves nothing half-done. ]]
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if nowMs > tonumber(ARGV[7]) then return {-3} end

if redis.call('GETBIT', KEYS[1], 0) == 0 then return {-2} end
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
