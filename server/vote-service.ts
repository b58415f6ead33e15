import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from '../shared/redis/client.js'
import type { Db } from '../shared/db/client.js'
import type { RedisKeys } from '../shared/redis/keys.js'
import { createVoteCaller, type VoteOutcome, type VoteOutcomeName, type VoteRules } from '../shared/redis/vote-script.js'
import { msOfRedisTime } from '../shared/redis/time.js'
import { rebuildContentIndex } from '../shared/content-index.js'
import { type AppError, contentLocked, contentNotFound, queueUnavailable, rateLimited } from './errors.js'
import { receiptPrefixes } from './vote-receipt.js'

export interface VoteSettings extends VoteRules {
  /** The client hears 503 after this long; the script refuses to act once it has passed. */
  timeoutMs: number
}

// The script's deadline sits this far before the client's timeout, to absorb the reply's trip back.
const DEADLINE_MARGIN = 0.2
const CLOCK_SYNC_MS = 60_000

type Refusal = Exclude<VoteOutcome, { kind: 'accepted' }>
type RefusalError<Name extends Refusal['kind']> = (outcome: Extract<Refusal, { kind: Name }>, contentId: number) => AppError<Name>

/**
 * The error each refusal answers with, by its outcome. The type holds each error's code to the outcome's
 * name, so the status is that code's in server/errors.ts, and the two vocabularies cannot drift apart.
 */
const REFUSALS: { [Name in Refusal['kind']]: RefusalError<Name> } = {
  content_locked: (outcome) => contentLocked(outcome.retryAfterSeconds),
  content_not_found: (_, contentId) => contentNotFound(contentId),
  queue_unavailable: () => queueUnavailable(),
  rate_limited: (outcome) => rateLimited(outcome.retryAfterSeconds),
}
// The entry named by the refusal's kind takes that refusal; TypeScript cannot pair the two through an index.
const refusal = (outcome: Refusal, contentId: number) =>
  (REFUSALS[outcome.kind] as (outcome: Refusal, contentId: number) => AppError)(outcome, contentId)

/**
 * Casting a vote: one call of vote.lua in the normal case, shared with the other votes of the same
 * event-loop turn and shard (shared/redis/vote-script.ts). PostgreSQL is touched only to rebuild the
 * content index after Redis lost its data, once per process at a time.
 */
export function createVoteService(deps: {
  db: Db; redis: RedisClient; keys: RedisKeys; settings: VoteSettings; log: FastifyBaseLogger; count: (outcome: VoteOutcomeName) => void
  /** Each accepted vote, before its 202 is sent: this process's readers show it at once (server/pending-votes/). */
  accepted?: (userId: number, contentId: number, score: number | null, entryId: string) => void
}) {
  const { db, redis, keys, settings, log, count } = deps
  // The deadline is stated in the clock the script reads (Redis' TIME) and carried forward here with the
  // monotonic clock, which a step of the wall clock (NTP, a resumed VM) does not move. Re-read on every
  // connect, every minute (Redis' own clock may step too), and after a script said the deadline had passed.
  let redisClock = { redisMs: Date.now(), atMs: performance.now() }
  const redisNow = () => redisClock.redisMs + (performance.now() - redisClock.atMs)
  const syncClock = async () => {
    try {
      const before = performance.now()
      const redisMs = msOfRedisTime(await redis.time())
      const after = performance.now()
      redisClock = { redisMs, atMs: (before + after) / 2 }
    } catch { /* keep the last reading; the next sync tries again */ }
  }
  redis.on('ready', () => { void syncClock() })
  if (redis.status === 'ready') void syncClock()
  const resync = setInterval(() => { if (redis.status === 'ready') void syncClock() }, CLOCK_SYNC_MS)
  resync.unref()

  let rebuilding: Promise<unknown> | undefined
  const rebuild = () => (rebuilding ??= rebuildContentIndex(db, redis, keys)
    .then((n) => log.warn({ contents: n },
      'content index built from postgresql (it was missing from redis: a new install, or redis lost its data)'))
    .finally(() => { rebuilding = undefined }))

  const callScript = createVoteCaller(redis, keys, settings)
  const receipts = receiptPrefixes(keys.shards)
  const scriptMs = settings.timeoutMs * (1 - DEADLINE_MARGIN)
  const send = (userId: number, contentId: number, score: number | null) =>
    callScript(userId, contentId, score, Math.floor(redisNow() + scriptMs))

  /**
   * A score 0..5, or null to take the caller's vote back (a retraction goes the same way: the same checks, the
   * same stream, in order with their other votes). Returns an accepted vote's receipt (server/vote-receipt.ts);
   * throws 404, 429 or 503 as an AppError.
   */
  async function castVote(userId: number, contentId: number, score: number | null): Promise<string> {
    let outcome: VoteOutcome
    try {
      outcome = await send(userId, contentId, score)
      if (outcome.kind === 'queue_unavailable' && outcome.reason === 'index_incomplete') {
        await rebuild()
        outcome = await send(userId, contentId, score)
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'vote not queued: redis unavailable')
      count('queue_unavailable')
      throw queueUnavailable()
    }
    count(outcome.kind)
    if (outcome.kind === 'accepted') {
      deps.accepted?.(userId, contentId, score, outcome.entryId)
      return receipts[keys.shardOf(contentId)]! + outcome.entryId
    }
    // A Redis that ran the script late, or a clock that stepped.
    if (outcome.kind === 'queue_unavailable' && outcome.reason === 'deadline_passed') void syncClock()
    throw refusal(outcome, contentId)
  }

  return { castVote, close: () => clearInterval(resync) }
}

export type VoteService = ReturnType<typeof createVoteService>
