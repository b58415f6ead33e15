--[[ trim.lua: drop stream entries every consumer group is done with, and nothing else.
  KEYS[1] votes stream
  Returns the MINID threshold used ("0-0" when nothing could be trimmed).
  Safe threshold = the smallest of, over every group on the stream: its oldest pending entry (delivered,
  not acked) and the entry right after its last-delivered id (not delivered yet). Entries below it were
  delivered to and acked by every group. Computed and applied in one script, so no delivery or ack
  can slip in between. ]]
if redis.call('EXISTS', KEYS[1]) == 0 then return '0-0' end

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(aMs, aSeq, bMs, bSeq)
  return aMs < bMs or (aMs == bMs and aSeq < bSeq)
end

local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return '0-0' end
local minMs, minSeq = math.huge, math.huge
for _, group in ipairs(groups) do
  local info = {}
  for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
  local ms, seq = parse(info['last-delivered-id'])
  seq = seq + 1
  if less(ms, seq, minMs, minSeq) then minMs, minSeq = ms, seq end
  local pending = redis.call('XPENDING', KEYS[1], info['name'])
  if pending[1] > 0 then
    local pMs, pSeq = parse(pending[2])
    if less(pMs, pSeq, minMs, minSeq) then minMs, minSeq = pMs, pSeq end
  end
end
if minMs == 0 and minSeq <= 1 then return '0-0' end
local threshold = string.format('%d-%d', minMs, minSeq)
redis.call('XTRIM', KEYS[1], 'MINID', '~', threshold)
return threshold
