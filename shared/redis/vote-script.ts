import type { Cluster, Redis, Result } from 'ioredis'
import type { RedisKeys } from './keys.js'

/*
 * The contract of vote.lua in one place: its keys and arguments in order, its reply codes, and the
 * outcomes and answers they stand for. The script's header says the same in Lua's words.
 */

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /**
     * shared/redis/vote.lua, a batch of votes of one shard; call it through createVoteCaller, which
     * knows the order of its keys and arguments. The first argument is the number of keys.
     */
    castVotes(numberOfKeys: string, ...keysThenArgs: string[]): Result<(string | number)[], Context>
  }
}

/** vote.lua's reply as a typed outcome. */
export type VoteOutcome =
  | { kind: 'accepted'; entryId: string }
  | { kind: 'locked'; retryAfterSeconds: number }
  | { kind: 'unknown_content' }
  | { kind: 'index_incomplete' }
  | { kind: 'deadline_passed' }
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'not_decided' }

/** What the API answers a vote with, as counted in tally_votes_total{outcome}: every value exists from the start. */
export const VOTE_ANSWERS = ['accepted', 'content_locked', 'content_not_found', 'queue_unavailable', 'rate_limited'] as const
export type VoteAnswer = (typeof VOTE_ANSWERS)[number]

export function answerOf(outcome: VoteOutcome): VoteAnswer {
  switch (outcome.kind) {
    case 'accepted': return 'accepted'
    case 'locked': return 'content_locked'
    case 'unknown_content': return 'content_not_found'
    case 'rate_limited': return 'rate_limited'
    // The caller rebuilds the index and tries once more; still incomplete, it is Redis that is unwell.
    case 'index_incomplete':
    case 'deadline_passed':
    case 'not_decided': return 'queue_unavailable'
  }
}

// Retry-After is whole seconds: round up so a client that waits that long finds the lock gone.
const wholeSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))

/** One vote's two values of vote.lua's reply: its code and what the code carries. */
export function parseVoteReply(code: unknown, value: unknown): VoteOutcome {
  switch (code) {
    case 1:
      if (typeof value !== 'string') break
      return { kind: 'accepted', entryId: value }
    case 0:
      if (typeof value !== 'number') break
      return { kind: 'locked', retryAfterSeconds: wholeSeconds(value) }
    case -1: return { kind: 'unknown_content' }
    case -2: return { kind: 'index_incomplete' }
    case -3: return { kind: 'deadline_passed' }
    case -4:
      if (typeof value !== 'number') break
      return { kind: 'rate_limited', retryAfterSeconds: wholeSeconds(value) }
    case -5: return { kind: 'not_decided' }
  }
  throw new Error(`unexpected reply from vote.lua: ${JSON.stringify([code, value])}`)
}

/** vote.lua's reply to a batch of `votes`: two values per vote, in the order sent. */
export function parseVoteReplies(reply: readonly unknown[], votes: number): VoteOutcome[] {
  if (reply.length !== 2 * votes) throw new Error(`unexpected reply from vote.lua: ${votes} votes sent, ${reply.length} values back`)
  const outcomes = new Array<VoteOutcome>(votes)
  for (let i = 0; i < votes; i++) outcomes[i] = parseVoteReply(reply[2 * i], reply[2 * i + 1])
  return outcomes
}

export interface VoteRules {
  /** Votes accepted per content per window. */
  limit: number
  windowSeconds: number
  lockSeconds: number
  /** Vote requests per user per minute, over every shard (see voteRequestsPerShard). */
  requestsPerMinute: number
}

/**
 * A voter's request budget in each shard: ceil(limit / shards). A vote is decided by its content's
 * shard's script, which can touch only that shard's keys (one Cluster slot), so the voter's count is
 * kept per shard; splitting the limit keeps the vote one call, and the voter's total at most
 * shards × ceil(limit / shards), under limit + shards. The cost: a voter whose votes all land in one
 * shard is refused after limit / shards (docs/api.md, "Rate limits and Retry-After").
 */
export const voteRequestsPerShard = (requestsPerMinute: number, shards: number): number => Math.ceil(requestsPerMinute / shards)

interface PendingVote {
  user: string
  content: string
  score: string
  deadline: string
  window: string
  requests: string
  resolve: (outcome: VoteOutcome) => void
  reject: (err: unknown) => void
}

/**
 * Votes per call of vote.lua. A batch blocks Redis while it runs (a few µs per vote), so it stays
 * short; more votes in one turn go as several calls in the same pipeline.
 */
export const MAX_VOTES_PER_CALL = 64

/**
 * `(user, content, score, deadline) → outcome`. Votes asked for in the same turn of the event loop
 * are sent together, one EVALSHA per shard, when the turn's I/O is done (setImmediate: the same
 * moment ioredis' auto-pipelining flushes). A vote waits no longer than it would have for its own
 * command, and each is still decided alone and in order; what the batch shares is the command's
 * fixed cost, in the API (one command to build, send and parse instead of one per vote) and in Redis.
 * If the call fails (Redis away, a timeout) every vote of the batch fails with it: each of their
 * callers answers 503, as each would have when its own command failed.
 * Every argument goes as a string, the fixed ones stringified once here: given numbers, ioredis
 * converts them per call.
 */
export function createVoteCaller(redis: Redis | Cluster, keys: RedisKeys, rules: VoteRules) {
  const fixedArgs = [rules.limit, rules.windowSeconds, rules.lockSeconds, voteRequestsPerShard(rules.requestsPerMinute, keys.shards)].map(String)
  const shardKeys = Array.from({ length: keys.shards }, (_, shard) => [keys.contentExists(shard), keys.stream(shard), keys.locks(shard)])
  const scores = ['0', '1', '2', '3', '4', '5']
  const waiting: PendingVote[][] = Array.from({ length: keys.shards }, () => [])
  // The shards with votes waiting, in the order their first vote came: a turn looks at these, not at
  // every shard (up to 1024), and its flush is scheduled when the first shard joins.
  let pending: number[] = []

  const send = (shard: number, batch: PendingVote[]) => {
    const keyNames = [...shardKeys[shard]!]
    const args = [...fixedArgs]
    for (const v of batch) {
      keyNames.push(v.window, v.requests)
      args.push(v.user, v.content, v.score, v.deadline)
    }
    let call: Promise<(string | number)[]>
    try {
      call = redis.castVotes(String(keyNames.length), ...keyNames, ...args)
    } catch (err) {
      // Not expected of ioredis, which rejects instead; but a throw here would escape setImmediate and end the process.
      for (const v of batch) v.reject(err)
      return
    }
    call.then((reply) => {
      let outcomes: VoteOutcome[]
      try {
        outcomes = parseVoteReplies(reply, batch.length)
      } catch (err) {
        for (const v of batch) v.reject(err)
        return
      }
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outcomes[i]!)
    }, (err: unknown) => {
      for (const v of batch) v.reject(err)
    })
  }

  const flush = () => {
    const shards = pending
    pending = []
    for (const shard of shards) {
      const votes = waiting[shard]!
      waiting[shard] = []
      for (let i = 0; i < votes.length; i += MAX_VOTES_PER_CALL) send(shard, votes.slice(i, i + MAX_VOTES_PER_CALL))
    }
  }

  return (userId: number, contentId: number, score: number, deadlineMs: number): Promise<VoteOutcome> =>
    new Promise((resolve, reject) => {
      const shard = keys.shardOf(contentId)
      if (waiting[shard]!.length === 0) {
        if (pending.length === 0) setImmediate(flush)
        pending.push(shard)
      }
      waiting[shard]!.push({
        user: String(userId), content: String(contentId), score: scores[score] ?? String(score), deadline: String(deadlineMs),
        window: keys.window(contentId), requests: keys.voteRequests(contentId, userId), resolve, reject,
      })
    })
}
