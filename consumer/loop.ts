import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Db } from '../shared/db/client.js'
import { pgErrorCode } from '../shared/db/errors.js'
import { announceVotesChanged } from '../shared/read-changes.js'
import { applyVotes, type ApplyResult } from './apply.js'
import { idsToAck, partitionByDeliveries } from './batch.js'
import { collapse } from './collapse.js'
import { decodeAll, type Rejected, type Vote } from './decode.js'
import { applyIsolating } from './isolate.js'
import type { ConsumerMetrics } from './metrics.js'
import { loopBackoffMs, sleep, unlessAborted, withRetry, Aborted } from './retry.js'
import {
  ack, claimStale, deadLetter, ensureGroup, holdEntries, isNoGroup, readNew, recreateGroups, type Batch, type StreamSettings,
} from './stream.js'

export interface LoopDeps {
  db: Db
  /** Commands: XACK, XADD, XAUTOCLAIM, XTRIM. */
  redis: Redis
  /** Its own connection for XREADGROUP BLOCK, which holds a connection while it waits. */
  blocking: Redis
  streams: readonly string[]
  /** Where each commit's changed contents are announced, so the API's cached pages showing them go. */
  readChangesChannel: string
  settings: StreamSettings
  metrics: ConsumerMetrics
  log: Logger
  signal: AbortSignal
  claimIntervalMs: number
  trimIntervalMs: number
}

/**
 * The thin loop: claim stale entries or read new ones → decode → collapse → apply (one transaction)
 * → dead-letter the rejects → XACK → now and then trim. It holds no rules of its own.
 * XACK only after COMMIT: a crash in between redelivers the batch, and the versioned upsert makes the replay a no-op.
 */
export async function runLoop(deps: LoopDeps): Promise<void> {
  const { signal, log } = deps
  await withRetry(async () => { for (const s of deps.streams) await unlessAborted(ensureGroup(deps.redis, s, deps.settings.group), signal) },
    { signal, onRetry: (err) => log.warn({ err: (err as Error).message }, 'cannot create the consumer group yet') }).catch(ignoreAbort)
  const claimCursors = new Map(deps.streams.map((s) => [s, '0-0']))
  // Per stream, the next read, started before a full batch (a backlog) is applied: Redis delivers it and
  // ioredis parses it while PostgreSQL works, instead of after. Its entries are held from arrival (as the
  // batch in hand is), and it is applied before the loop ends, so it is in hand like the batch before it.
  const ahead = new Map<string, Promise<ReadAhead>>()
  let nextClaimAt = 0
  let nextTrimAt = Date.now() + deps.trimIntervalMs
  let failures = 0
  while (!signal.aborted) {
    try {
      for (const stream of deps.streams) {
        let batch: Batch | null = null
        if (Date.now() >= nextClaimAt) {
          const claimed = await claimStale(deps.redis, stream, deps.settings, claimCursors.get(stream)!)
          claimCursors.set(stream, claimed.cursor)
          batch = claimed.batch
          if (batch) deps.metrics.tookOver(batch)
          // A full pass over the pending list is done when the cursor wraps to 0-0.
          if (claimed.cursor === '0-0' && stream === deps.streams[deps.streams.length - 1]) nextClaimAt = Date.now() + deps.claimIntervalMs
        }
        // A read on a live connection is waited for (BLOCK is short, and what it returns is this consumer's
        // to apply); one queued while Redis is away is given up on shutdown: it can deliver nothing.
        let release = () => {}
        let wasRead = false
        if (batch === null) {
          const early = ahead.get(stream)
          ahead.delete(stream)
          const read = early ?? readNew(deps.blocking, stream, deps.settings, signal).then((b) => ({ batch: b, release }))
          ;({ batch, release } = deps.blocking.status === 'ready' ? await read : await unlessAborted(read, signal))
          wasRead = true
        }
        if (batch) {
          if (wasRead && batch.entries.length >= deps.settings.batchSize && !signal.aborted) ahead.set(stream, readAhead(deps, stream))
          try {
            await processBatch(deps, batch)
          } finally {
            release()
          }
        }
        if (signal.aborted) break
      }
      if (Date.now() >= nextTrimAt) {
        for (const stream of deps.streams) await deps.redis.trimAcked(stream)
        nextTrimAt = Date.now() + deps.trimIntervalMs
      }
      failures = 0
    } catch (err) {
      if (err instanceof Aborted || signal.aborted) break
      if (isNoGroup(err)) {
        log.warn('consumer group missing (redis lost its data?): creating it again')
        await recreateGroups(deps.redis, deps.streams, deps.settings.group)
      }
      failures++
      log.warn({ err: (err as Error).message, failures }, 'consumer loop error; backing off')
      await sleep(loopBackoffMs(failures), signal).catch(ignoreAbort)
    }
  }
  // Shutdown with a read ahead: apply it too, as the batch in hand. Should that fail (Redis or PostgreSQL
  // away), its entries stay pending and are taken over; their replay changes nothing.
  for (const [stream, early] of ahead) {
    try {
      const { batch, release } = deps.blocking.status === 'ready' ? await early : await unlessAborted(early, signal)
      try {
        if (batch) await processBatch(deps, batch)
      } finally {
        release()
      }
    } catch (err) {
      if (!(err instanceof Aborted)) log.warn({ err: (err as Error).message, stream }, 'batch read ahead left pending at shutdown')
    }
  }
}

interface ReadAhead { batch: Batch | null; release: () => void }

function readAhead(deps: LoopDeps, stream: string): Promise<ReadAhead> {
  const read = readNew(deps.blocking, stream, deps.settings, deps.signal).then((batch) => ({
    batch,
    release: batch ? holdEntries(deps.redis, stream, deps.settings, batch.entries.map(([id]) => id)) : () => {},
  }))
  // Awaited when its turn comes; this only keeps a failure that arrives before then from counting as unhandled.
  read.catch(() => {})
  return read
}

/** One batch, start to ack. Throws Aborted (nothing acked) when shutdown interrupts a retry. */
export async function processBatch(deps: LoopDeps, batch: Batch): Promise<ApplyResult> {
  const started = process.hrtime.bigint()
  const { settings, metrics } = deps
  const { entries, tooOften } = partitionByDeliveries(batch, settings.maxDeliveries)
  const { votes, rejected } = decodeAll(batch.stream, entries)
  const release = holdEntries(deps.redis, batch.stream, settings, batch.entries.map(([id]) => id))
  let result: ApplyResult
  let dead: Rejected[]
  try {
    result = await applyIsolating(collapse(votes), {
      apply: (some) => applyWithRetry(deps, some),
      // Right after each COMMIT (each half of a split batch too, which may wait out an outage before the
      // next half), before XACK: should the announcement fail, the batch is redelivered, replayed (changing
      // nothing), and announced then. Every content of the batch, applied or not: a superset is safe.
      committed: (some, done) => {
        metrics.committed(some, done, Date.now())
        return announceVotesChanged(deps.redis, deps.readChangesChannel, [...new Set(some.map((v) => v.contentId))])
      },
    })
    dead = [...tooOften, ...rejected, ...result.rejected]
    await deadLetter(deps.redis, settings, dead)
    await ack(deps.redis, batch.stream, settings.group, idsToAck(batch.entries, dead))
  } finally {
    release()
  }
  for (const r of dead) deps.log.warn({ entry: r.entryId, reason: r.reason }, 'vote dead-lettered')
  metrics.batchApplied(batch.entries.length, result, dead, Number(process.hrtime.bigint() - started) / 1e9)
  return { ...result, rejected: dead }
}

/** applyVotes, retried on transient errors; shutdown during the retries wins (Aborted, nothing dead-lettered). */
async function applyWithRetry(deps: LoopDeps, votes: Vote[]): Promise<ApplyResult> {
  try {
    return await withRetry(() => applyVotes(deps.db, votes), {
      signal: deps.signal,
      onRetry: (err, attempt) => deps.log.warn({ err: (err as Error).message, code: pgErrorCode(err), attempt, votes: votes.length }, 'apply failed; retrying'),
    })
  } catch (err) {
    throw deps.signal.aborted ? new Aborted() : err
  }
}

function ignoreAbort(err: unknown): void {
  if (!(err instanceof Aborted)) throw err
}
