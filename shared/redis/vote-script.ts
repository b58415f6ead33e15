import type { Cluster, Redis, Result } from 'ioredis'
import { batchPerTurn } from '../turn-batch.js'
import type { RedisKeys } from './keys.js'

/*
 * The contract of vote.lua in one place: its keys and arguments in order, its reply codes, and the
 * outcome each code stands for. The script's header says the same in Lua's words.
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

/**
 * vote.lua's reply codes, one row each: the code, the outcome it stands for, and what the reply's second
 * value carries. An outcome's `kind` is its one name: the API's answer (`accepted`, or the error code whose
 * row in server/errors.ts gives the HTTP status) and the label the vote is counted under in
 * tally_votes_total{outcome}. Refusals answered alike that the caller acts on differently say why in `reason`.
 * `carries`: `entryId`, the stream entry id (a string); `retryAfterSeconds`, the ms left (a number) in whole seconds.
 * Adding an outcome is a row here; one with a new error code also needs that code's row in server/errors.ts
 * and its error in server/vote-service.ts's REFUSALS, which the compiler asks for.
 */
const VOTE_REPLIES = [
  [1, { kind: 'accepted', carries: 'entryId' }],
  // Locked now, or this vote was one too many and locked it.
  [0, { kind: 'content_locked', carries: 'retryAfterSeconds' }],
  [-1, { kind: 'content_not_found' }],
  // The content index is incomplete (Redis lost its data): the caller rebuilds it and tries once more;
  // still incomplete, it is Redis that is unwell.
  [-2, { kind: 'queue_unavailable', reason: 'index_incomplete' }],
  // Past the vote's deadline the client has heard 503 already; the caller re-reads Redis' clock.
  [-3, { kind: 'queue_unavailable', reason: 'deadline_passed' }],
  [-4, { kind: 'rate_limited', carries: 'retryAfterSeconds' }],
  // Redis refused a write (out of memory) while deciding this vote or an earlier one of the batch.
  [-5, { kind: 'queue_unavailable', reason: 'not_decided' }],
] as const

type Row = (typeof VOTE_REPLIES)[number][1]
interface Carried { entryId: string; retryAfterSeconds: number }
type OutcomeOf<R> = R extends { kind: infer K; carries: infer C extends keyof Carried }
  ? { readonly kind: K } & { readonly [P in C]: Carried[P] }
  : R

/** vote.lua's reply to one vote: its row, with what the reply carried in place of `carries`. */
export type VoteOutcome = OutcomeOf<Row>
export type VoteOutcomeName = VoteOutcome['kind']

/**
 * Every outcome's name, sorted: what the API answers a vote with (queue_unavailable also when the call fails),
 * and every value of tally_votes_total{outcome}, each there from the start.
 */
export const VOTE_OUTCOMES: readonly VoteOutcomeName[] = [...new Set(VOTE_REPLIES.map(([, row]) => row.kind))].sort()

// A row that carries nothing is its own outcome: frozen, and shared by every vote it answers.
const ROWS = new Map<unknown, Row>(VOTE_REPLIES.map(([code, row]) => [code, Object.freeze(row)]))

// Retry-After is whole seconds: round up so a client that waits that long finds the lock gone.
const wholeSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))

/** One vote's two values of vote.lua's reply: its code and what the code carries. */
export function parseVoteReply(code: unknown, value: unknown): VoteOutcome {
  const row = ROWS.get(code)
  if (row !== undefined) {
    if (!('carries' in row)) return row
    if (row.carries === 'entryId') {
      if (typeof value === 'string') return { kind: row.kind, entryId: value }
    } else if (typeof value === 'number') {
      return { kind: row.kind, retryAfterSeconds: wholeSeconds(value) }
    }
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

/** One vote's shard, and its keys and arguments of vote.lua as strings. */
interface VoteRequest {
  shard: number
  user: string
  content: string
  score: string
  deadline: string
  window: string
  requests: string
}

/**
 * Votes per call of vote.lua. A batch blocks Redis while it runs (a few µs per vote), so it stays
 * short; more votes in one turn go as several calls in the same pipeline.
 */
export const MAX_VOTES_PER_CALL = 64

const shardOfVote = (vote: VoteRequest) => vote.shard

/**
 * `(user, content, score, deadline) → outcome`; a null score takes the user's vote back. Votes asked for in the same turn of the event loop
 * are sent together, one EVALSHA per shard, when the turn's I/O is done (shared/turn-batch.ts, one group
 * per shard). A vote waits no longer than it would have for its own command, and each is still decided
 * alone and in order; what the batch shares is the command's fixed cost, in the API (one command to build,
 * send and parse instead of one per vote) and in Redis.
 * If the call fails (Redis away, a timeout) every vote of the batch fails with it: each of their
 * callers answers 503, as each would have when its own command failed.
 * Every argument goes as a string, the fixed ones stringified once here: given numbers, ioredis
 * converts them per call.
 */
export function createVoteCaller(redis: Redis | Cluster, keys: RedisKeys, rules: VoteRules) {
  const requestsPerShard = voteRequestsPerShard(rules.requestsPerMinute, keys.shards)
  const fixedArgs = [rules.limit, rules.windowSeconds, rules.lockSeconds, requestsPerShard].map(String)
  const shardKeys = Array.from({ length: keys.shards }, (_, shard) => [keys.contentExists(shard), keys.stream(shard), keys.locks(shard)])
  const scores = ['0', '1', '2', '3', '4', '5']

  const callScript = batchPerTurn((votes: VoteRequest[], shard: number) => {
    const keyNames = [...shardKeys[shard]!]
    const args = [...fixedArgs]
    for (const v of votes) {
      keyNames.push(v.window, v.requests)
      args.push(v.user, v.content, v.score, v.deadline)
    }
    return redis.castVotes(String(keyNames.length), ...keyNames, ...args)
  }, { groups: { count: keys.shards, of: shardOfVote }, maxPerCall: MAX_VOTES_PER_CALL, answers: parseVoteReplies })

  // A retraction (score null) is the score "-" on the stream (consumer/decode.ts reads it back).
  return (userId: number, contentId: number, score: number | null, deadlineMs: number): Promise<VoteOutcome> => callScript({
    shard: keys.shardOf(contentId),
    user: String(userId), content: String(contentId), score: score === null ? '-' : scores[score] ?? String(score),
    deadline: String(deadlineMs),
    window: keys.window(contentId), requests: keys.voteRequests(contentId, userId),
  })
}
