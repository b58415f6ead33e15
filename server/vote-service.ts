import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from '../shared/redis/client.js'
import type { Db } from '../shared/db/client.js'
import type { RedisKeys } from '../shared/redis/keys.js'
import { answerOf, createVoteCaller, type VoteAnswer, type VoteOutcome, type VoteRules } from '../shared/redis/vote-script.js'
import { rebuildContentIndex } from '../shared/content-index.js'
import { contentLocked, contentNotFound, queueUnavailable, rateLimited } from './errors.js'
import { receiptPrefixes } from './vote-receipt.js'

export interface VoteSettings extends VoteRules {
  /** The client hears 503 after this long; the script refuses to act once it has passed. */
  timeoutMs: number
}

// The script's deadline sits this far before the client's timeout, to absorb the reply's trip back.
const DEADLINE_MARGIN = 0.2
const CLOCK_SYNC_MS = 60_000

/**
 * Casting a vote: one call of vote.lua in the normal case, shared with the other votes of the same
 * event-loop turn and shard (shared/redis/vote-script.ts). PostgreSQL is touched only to rebuild the
 * content index after Redis lost its data, once per process at a time.
 */
export function createVoteService(deps: {
  db: Db; redis: RedisClient; keys: RedisKeys; settings: VoteSettings; log: FastifyBaseLogger; count: (answer: VoteAnswer) => void
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
      const [sec, usec] = await redis.time()
      const after = performance.now()
      redisClock = { redisMs: Number(sec) * 1000 + Number(usec) / 1000, atMs: (before + after) / 2 }
    } catch { /* keep the last reading; the next sync tries again */ }
  }
  redis.on('ready', () => void syncClock())
  if (redis.status === 'ready') void syncClock()
  const resync = setInterval(() => { if (redis.status === 'ready') void syncClock() }, CLOCK_SYNC_MS)
  resync.unref()

  let rebuilding: Promise<unknown> | undefined
  const rebuild = () => (rebuilding ??= rebuildContentIndex(db, redis, keys)
    .then((n) => log.warn({ contents: n }, 'content index built from postgresql (it was missing from redis: a new install, or redis lost its data)'))
    .finally(() => { rebuilding = undefined }))

  const callScript = createVoteCaller(redis, keys, settings)
  const receipts = receiptPrefixes(keys.shards)
  const scriptMs = settings.timeoutMs * (1 - DEADLINE_MARGIN)
  const send = (userId: number, contentId: number, score: number) =>
    callScript(userId, contentId, score, Math.floor(redisNow() + scriptMs))

  /** Returns an accepted vote's receipt (server/vote-receipt.ts); throws 404, 429 or 503 as an AppError. */
  async function castVote(userId: number, contentId: number, score: number): Promise<string> {
    let outcome: VoteOutcome
    try {
      outcome = await send(userId, contentId, score)
      if (outcome.kind === 'index_incomplete') {
        await rebuild()
        outcome = await send(userId, contentId, score)
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'vote not queued: redis unavailable')
      count('queue_unavailable')
      throw queueUnavailable()
    }
    count(answerOf(outcome))
    switch (outcome.kind) {
      case 'accepted': return receipts[keys.shardOf(contentId)]! + outcome.entryId
      case 'locked': throw contentLocked(outcome.retryAfterSeconds)
      case 'rate_limited': throw rateLimited(outcome.retryAfterSeconds)
      case 'unknown_content': throw contentNotFound(contentId)
      case 'deadline_passed':
        void syncClock() // a Redis that ran the script late, or a clock that stepped
        throw queueUnavailable()
      case 'index_incomplete':
      case 'not_decided': throw queueUnavailable()
    }
  }

  return { castVote, close: () => clearInterval(resync) }
}

export type VoteService = ReturnType<typeof createVoteService>
