--[[ vote.lua: accept or refuse a batch of votes of one shard, each atomically and in the order given
  (no other command runs while the script does). Called through shared/redis/vote-script.ts, which is
  the only caller and mirrors this header. A batch is what the API received in one turn of its event
  loop for this shard: one call instead of one per vote saves Redis the per-call work (parsing the
  command, running the script, building KEYS and ARGV) and the API one command per vote.
  KEYS[1] the shard's content-exists bitmap (bit 0 set: the bitmap is complete; bit n set: content n exists)
  KEYS[2] the shard's votes stream
  KEYS[3] the shard's live locks (sorted set: content id by lock end, ms); also the name of the
          channel a new lock is announced on ("<content id> <lock end ms>"), so API processes
          show it in reads they serve from memory
  then for vote i (i = 1..n):
  KEYS[2 + 2i] the content's window: votes accepted in the open window (> 0), or while the content is
               locked, minus the lock's end in ms on Redis' clock (< 0); absent: no window open
  KEYS[3 + 2i] the voter's request counter (per minute)
          (every key shares the shard's {shard} hash tag, so the script touches one Cluster slot)
  ARGV[1] limit: votes accepted per window   ARGV[2] window length, s   ARGV[3] lock length, s
  ARGV[4] the voter's request limit per minute in this shard (ceil(RATE_LIMIT_PER_MINUTE / shards))
  then for vote i: ARGV[1 + 4i] user id   ARGV[2 + 4i] content id   ARGV[3 + 4i] score 0..5, or "-": the voter
                   takes their vote back (a retraction: counted, refused and locked as a vote is)
                   ARGV[4 + 4i] deadline, ms on Redis' clock: past it the caller has already answered
                   503, so do nothing
  Returns a flat array, two values per vote in the order given (VOTE_REPLIES in vote-script.ts names the
  outcome of each code, which is the API's answer and the vote's metric label):
    1, entry id            accepted: counted in the window and appended to the stream
    0, ms left on lock     refused: locked now, or this vote was one too many and locked it
    -1, 0                  refused: no such content (its bit is 0)
    -2, 0                  refused: the bitmap is incomplete (bit 0 unset: Redis lost its data), rebuild it
    -3, 0                  refused: deadline passed
    -4, ms left            refused: the voter is over their request limit for this minute
    -5, 0                  not decided: Redis refused a write (e.g. out of memory) while deciding this
                           vote, or an earlier one of the batch; the votes before it stand as answered
  Invariant: a vote is in the stream iff it was counted in the window; at most `limit` per window.
  Apart from the voter's request counter, a vote writes only after every check, and XADD before the
  window's count, except when it opens the window, which is taken back if the XADD fails: an error
  leaves no vote half-done.
  Cost: an accepted vote runs four commands, three when it opens its content's window (one more when it
  opens the voter's minute): TIME and one BITFIELD_RO (every vote's bit and the completeness bit) are
  shared by the batch, the lock lives in the window key so one command answers "locked?" and "how
  many?", and that command (SET … NX GET) also opens a window that was not there, counted and expiring. ]]
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local limit = tonumber(ARGV[1])
local windowSeconds = ARGV[2]
local lockMs = tonumber(ARGV[3]) * 1000
local requestsPerMinute = tonumber(ARGV[4])
local n = (#ARGV - 4) / 4

local reply = {}
local fields = { 'GET', 'u1', 0 }
for i = 1, n do
  fields[#fields + 1] = 'GET'
  fields[#fields + 1] = 'u1'
  fields[#fields + 1] = ARGV[2 + 4 * i]
end
local bits = redis.call('BITFIELD_RO', KEYS[1], unpack(fields))
-- Before counting any request: the caller rebuilds the index and sends these votes again.
if bits[1] == 0 then
  for i = 1, n do reply[2 * i - 1] = -2; reply[2 * i] = 0 end
  return reply
end

local function vote(i)
  local window, requestsKey = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local user, content, score = ARGV[1 + 4 * i], ARGV[2 + 4 * i], ARGV[3 + 4 * i]
  if nowMs > tonumber(ARGV[4 + 4 * i]) then return -3, 0 end

  -- The per-user request limit lives here, not in a separate round trip: every vote request counts,
  -- accepted or not, in a fixed one-minute window that opens with the first request.
  local requests = redis.call('INCR', requestsKey)
  if requests == 1 then redis.call('PEXPIRE', requestsKey, 60000) end
  if requests > requestsPerMinute then
    local left = redis.call('PTTL', requestsKey)
    if left < 0 then redis.call('PEXPIRE', requestsKey, 60000); left = 60000 end
    return -4, left
  end

  if bits[1 + i] == 0 then return -1, 0 end

  -- No window open (the common case over many contents): this vote opens it, counted, with its expiry, in
  -- the same command that looks. Should the XADD then fail, the window goes again: a vote is counted
  -- iff it is in the stream.
  local previous = redis.call('SET', window, 1, 'EX', windowSeconds, 'NX', 'GET')
  if not previous then
    local added, id = pcall(redis.call, 'XADD', KEYS[2], '*', 'user', user, 'content', content, 'score', score)
    if not added then
      redis.call('DEL', window)
      error(id)
    end
    return 1, id
  end

  local counted = tonumber(previous)
  if counted < 0 then
    -- Locked: the value is minus the lock's end. At least 1 ms: the key expires at that end, so a
    -- value still here is a lock still holding.
    return 0, math.max(1, -counted - nowMs)
  end
  if counted >= limit then
    -- One too many: lock the content. The window becomes the lock, so a new window opens after it.
    local untilMs = nowMs + lockMs
    redis.call('SET', window, -untilMs, 'PX', lockMs)
    -- Rare (once per lock), so the bookkeeping costs nothing per vote: the set lets a process that
    -- (re)connects learn every live lock, the message tells the connected ones at once.
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', nowMs)
    redis.call('ZADD', KEYS[3], untilMs, content)
    if redis.call('PTTL', KEYS[3]) < lockMs then redis.call('PEXPIRE', KEYS[3], lockMs) end
    redis.call('PUBLISH', KEYS[3], content .. ' ' .. string.format('%d', untilMs))
    return 0, lockMs
  end

  local id = redis.call('XADD', KEYS[2], '*', 'user', user, 'content', content, 'score', score)
  redis.call('INCR', window)
  return 1, id
end

-- A command error (a write refused when Redis is out of memory) would abort the script and fail the whole
-- call, and with it the answers of the votes already in the stream. Caught, those keep their answers and
-- the rest are reported undecided.
local failed = false
for i = 1, n do
  local ok, code, value = false, -5, 0
  if not failed then ok, code, value = pcall(vote, i) end
  if not ok then
    failed = true
    code, value = -5, 0
  end
  reply[2 * i - 1] = code
  reply[2 * i] = value
end
return reply
