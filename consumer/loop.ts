import type { RedisClient } from '../shared/redis/client.js'
import type { Logger } from 'pino'
import type { Db } from '../shared/db/client.js'
import { pgErrorCode } from '../shared/db/errors.js'
import { announceVotesChanged } from '../shared/read-changes.js'
import { applyVotes, type ApplyResult } from './apply.js'
import { idsToAck, partitionByDeliveries } from './batch.js'
import { collapse } from './collapse.js'
import { decodeAll, type Rejected, type Vote } from './decode.js'
import { applyIsolating } from './isolate.js'
import { forgetOwnRows, ledgerFor, recordOnly, type LedgerEntry } from './ledger.js'
import type { ConsumerMetrics } from './metrics.js'
import { loopBackoffMs, sleep, unlessAborted, withRetry, Aborted } from './retry.js'
import {
  ack, claimOwn, claimStale, deadLetter, ensureGroup, holdEntries, isNoGroup, readNew, recreateGroups, type Batch, type StreamSettings,
} from './stream.js'

export interface LoopDeps {
  db: Db
  /** Commands: XACK, XADD, XAUTOCLAIM, XTRIM. */
  redis: RedisClient
  /** Its own connection for XREADGROUP BLOCK, which holds a connection while it waits. */
  blocking: RedisClient
  streams: readonly string[]
  /** Where each commit's changed contents are announced, so the API's cached pages showing them go. */
  readChangesChannel: string
  settings: StreamSettings
  metrics: ConsumerMetrics
  log: Logger
  signal: AbortSignal
  claimIntervalMs: number
  trimIntervalMs: number
  /** Batch rows of the ledger whose XACK went through, for the next statement to delete (consumer/ledger.ts). */
  acknowledgedRows?: number[]
}

/**
 * The thin loop: claim stale entries of each stream, read new ones of every stream at once → decode → collapse → apply (one transaction)
 * → dead-letter the rejects → XACK → now and then trim. It holds no rules of its own.
 * XACK only after COMMIT: a crash in between redelivers the batch, and the versioned upsert makes the replay a no-op.
 */
export async function runLoop(deps: LoopDeps): Promise<void> {
  const { signal, log } = deps
  await withRetry(async () => { for (const s of deps.streams) await unlessAborted(ensureGroup(deps.redis, s, deps.settings.group), signal) },
    { signal, onRetry: (err) => log.warn({ err: (err as Error).message }, 'cannot create the consumer group yet') }).catch(ignoreAbort)
  await withRetry(async () => {
    await takeBackOwn(deps)
    // Every entry a predecessor of this name recorded is acknowledged now: its rows are not needed.
    await forgetOwnRows(deps.db, deps.settings.consumer)
  }, {
    signal, onRetry: (err) => log.warn({ err: (err as Error).message }, 'cannot take back this name\'s pending entries yet'),
  }).catch(ignoreAbort)
  const claimCursors = new Map(deps.streams.map((s) => [s, '0-0']))
  // The next read (of every stream), started before a full batch (a backlog) is applied: Redis delivers it and
  // ioredis parses it while PostgreSQL works, instead of after. Its entries are held from arrival (as the
  // batch in hand is), and it is applied before the loop ends, so it is in hand like the batches before it.
  let ahead: Promise<ReadAhead> | undefined
  let nextClaimAt = 0
  let nextTrimAt = Date.now() + deps.trimIntervalMs
  let failures = 0
  while (!signal.aborted) {
    try {
      if (Date.now() >= nextClaimAt) {
        // One page of each stream's pending list per turn; a full pass is done when every cursor has wrapped to 0-0.
        let passDone = true
        for (const stream of deps.streams) {
          const claimed = await claimStale(deps.redis, stream, deps.settings, claimCursors.get(stream)!)
          claimCursors.set(stream, claimed.cursor)
          if (claimed.cursor !== '0-0') passDone = false
          if (claimed.batch) {
            deps.metrics.tookOver(claimed.batch)
            await processBatch(deps, claimed.batch)
          }
          if (signal.aborted) break
        }
        if (passDone) nextClaimAt = Date.now() + deps.claimIntervalMs
      }
      if (signal.aborted) break
      // A read on a live connection is waited for (BLOCK is short, and what it returns is this consumer's
      // to apply); one queued while Redis is away is given up on shutdown: it can deliver nothing.
      const read = ahead ?? readNew(deps.blocking, deps.streams, deps.settings, signal).then((batches) => ({ batches, release: () => {} }))
      ahead = undefined
      const { batches, release } = deps.blocking.status === 'ready' ? await read : await unlessAborted(read, signal)
      try {
        if (batches.some((b) => b.entries.length >= deps.settings.batchSize) && !signal.aborted) ahead = readAhead(deps)
        for (const batch of batches) await processBatch(deps, batch)
      } finally {
        release()
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
  // Shutdown with a read ahead: apply it too, as the batches in hand. Should that fail (Redis or PostgreSQL
  // away), its entries stay pending and are taken over; their replay changes nothing.
  if (ahead) {
    try {
      const { batches, release } = deps.blocking.status === 'ready' ? await ahead : await unlessAborted(ahead, signal)
      try {
        for (const batch of batches) await processBatch(deps, batch)
      } finally {
        release()
      }
    } catch (err) {
      if (!(err instanceof Aborted)) log.warn({ err: (err as Error).message }, 'batches read ahead left pending at shutdown')
    }
  }
}

/** Before reading anything new: apply what an earlier process of this name left pending (claimOwn). */
async function takeBackOwn(deps: LoopDeps): Promise<void> {
  for (const stream of deps.streams) {
    for (;;) {
      const own = await unlessAborted(claimOwn(deps.redis, stream, deps.settings), deps.signal)
      if (own === null) break
      deps.log.info({ stream, entries: own.entries.length }, 'taking back the entries an earlier process of this name left pending')
      deps.metrics.tookOver(own)
      await processBatch(deps, own)
    }
  }
}

interface ReadAhead { batches: Batch[]; release: () => void }

function readAhead(deps: LoopDeps): Promise<ReadAhead> {
  const read = readNew(deps.blocking, deps.streams, deps.settings, deps.signal).then((batches) => {
    const releases = batches.map((b) => holdEntries(deps.redis, b.stream, deps.settings, b.entries.map(([id]) => id)))
    return { batches, release: () => { for (const r of releases) r() } }
  })
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
  const acknowledged = (deps.acknowledgedRows ??= [])
  let result: ApplyResult
  let dead: Rejected[]
  try {
    // The batch is recorded by its first COMMIT; until one succeeds, the entry rides along with each attempt.
    let unrecorded: LedgerEntry | undefined = await withRetry(() => ledgerFor(deps.db, batch, settings.consumer, acknowledged), { signal: deps.signal })
    let ledgerRow: number | undefined
    const recorded = (row: number, entry: LedgerEntry) => {
      ledgerRow = row
      unrecorded = undefined
      acknowledged.splice(0, acknowledged.length, ...acknowledged.filter((id) => !entry.forget.includes(id)))
    }
    result = await applyIsolating(collapse(votes), {
      apply: async (some) => {
        const entry = unrecorded
        const done = await applyWithRetry(deps, some, entry)
        if (entry && done.ledgerRow !== undefined) recorded(done.ledgerRow, entry)
        return done
      },
      // Right after each COMMIT (each half of a split batch too, which may wait out an outage before the
      // next half), before XACK: should the announcement fail, the batch is redelivered, replayed (changing
      // nothing), and announced then. Every content of the batch, applied or not: a superset is safe.
      committed: (some, done) => {
        metrics.committed(some, done, Date.now())
        return announceVotesChanged(deps.redis, deps.readChangesChannel, [...new Set(some.map((v) => v.contentId))])
      },
    })
    // Nothing of the batch reached a COMMIT (every vote dead, or none at all): it is recorded on its own.
    const entry = unrecorded as LedgerEntry | undefined
    if (entry) recorded(await withRetry(() => recordOnly(deps.db, entry), { signal: deps.signal }), entry)
    dead = [...tooOften, ...rejected, ...result.rejected]
    await deadLetter(deps.redis, settings, dead)
    await ack(deps.redis, batch.stream, settings.group, idsToAck(batch.entries, dead))
    if (ledgerRow !== undefined) acknowledged.push(ledgerRow)
  } finally {
    release()
  }
  for (const r of dead) deps.log.warn({ entry: r.entryId, reason: r.reason }, 'vote dead-lettered')
  metrics.batchApplied(batch.entries.length, result, dead, Number(process.hrtime.bigint() - started) / 1e9)
  return { ...result, rejected: dead }
}

/** applyVotes, retried on transient errors; shutdown during the retries wins (Aborted, nothing dead-lettered). */
async function applyWithRetry(deps: LoopDeps, votes: Vote[], ledger?: LedgerEntry): Promise<ApplyResult> {
  try {
    return await withRetry(() => applyVotes(deps.db, votes, ledger), {
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
