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
import { createLanes, type Lanes } from './lanes.js'
import { advanceHorizon, ledgerFor, moveRecordedBatches, recordOnly, type LedgerEntry, type RaisedHorizon } from './ledger.js'
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
  /** How often acknowledged entries are trimmed from each stream, and the ledger's horizon raised past them. */
  trimIntervalMs: number
  /** Batches applied at once, each on its own connection (consumer/lanes.ts); 1 when absent. */
  lanes?: number
}

/**
 * The thin loop: claim stale entries of each stream, read new ones of every stream at once → decode → collapse → apply (one transaction)
 * → dead-letter the rejects → XACK → now and then trim, each batch in a lane of its own. It holds no rules of its own.
 * XACK only after COMMIT: a crash in between redelivers the batch, and the versioned upsert makes the replay a no-op.
 */
export async function runLoop(deps: LoopDeps): Promise<void> {
  const { signal, log } = deps
  await withRetry(async () => { for (const s of deps.streams) await unlessAborted(ensureGroup(deps.redis, s, deps.settings.group), signal) },
    { signal, onRetry: (err) => log.warn({ err: (err as Error).message }, 'cannot create the consumer group yet') }).catch(ignoreAbort)
  await withRetry(async () => {
    // Before any entry is taken: what consumers from before migration 0011 recorded must be found by the takeover.
    await moveRecordedBatches(deps.db)
    await takeBackOwn(deps)
  }, {
    signal, onRetry: (err) => log.warn({ err: (err as Error).message }, 'cannot take back this name\'s pending entries yet'),
  }).catch(ignoreAbort)
  const claimCursors = new Map(deps.streams.map((s) => [s, '0-0']))
  const lanes = createLanes(deps.lanes ?? 1)
  // Per stream, the ledger horizon this consumer raised whose rows are still to be deleted (advanceHorizon).
  const horizons = new Map<string, RaisedHorizon>()
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
            await startInLanes(deps, lanes, [claimed.batch])
          }
          if (signal.aborted) break
        }
        if (passDone) nextClaimAt = Date.now() + deps.claimIntervalMs
      }
      if (signal.aborted) break
      // A read on a live connection is waited for (BLOCK is short, and what it returns is this consumer's
      // to apply); one queued while Redis is away is given up on shutdown: it can deliver nothing. The
      // batches go into lanes, so the next read (and, with two lanes, the next apply) overlaps this apply.
      const read = readNew(deps.blocking, deps.streams, deps.settings, signal)
      const batches = deps.blocking.status === 'ready' ? await read : await unlessAborted(read, signal)
      await startInLanes(deps, lanes, batches)
      if (Date.now() >= nextTrimAt) {
        for (const stream of deps.streams) await trim(deps, stream, horizons)
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
  // Shutdown: the batches in the lanes are finished (or, should Redis or PostgreSQL be away, left pending to
  // be taken over; their replay changes nothing).
  try {
    await lanes.settle()
  } catch (err) {
    if (!(err instanceof Aborted)) log.warn({ err: (err as Error).message }, 'batches in hand left pending at shutdown')
  }
}

/**
 * Start each batch in a lane, its entries held (renewed, see holdEntries) from now until its lane is done
 * with it: a batch waiting for a lane is in hand, and must not be taken for a dead consumer's meanwhile.
 * Resolves once every batch has started; a batch that could not start (an earlier one failed) stays
 * pending, to be taken over or taken back, as when a batch failed before.
 */
async function startInLanes(deps: LoopDeps, lanes: Lanes, batches: readonly Batch[]): Promise<void> {
  const releases = batches.map((b) => holdEntries(deps.redis, b.stream, deps.settings, b.entries.map(([id]) => id)))
  let i = 0
  try {
    for (; i < batches.length; i++) {
      const batch = batches[i]!
      const { finished } = await lanes.start((lane) => processBatch(deps, batch, lane))
      void finished.then(releases[i])
    }
  } finally {
    for (; i < batches.length; i++) releases[i]!()
  }
}

/**
 * Trim what every group acknowledged from `stream`, and raise the ledger's horizon to the same place. The
 * horizon can wait: should PostgreSQL fail it, the next trim raises it further, and until then the rows of
 * acknowledged entries are merely kept a little longer.
 */
async function trim(deps: LoopDeps, stream: string, horizons: Map<string, RaisedHorizon>): Promise<void> {
  const threshold = await deps.redis.trimAcked(stream)
  try {
    const left = await advanceHorizon(deps.db, stream, threshold, horizons.get(stream))
    if (left) horizons.set(stream, left)
    else horizons.delete(stream)
  } catch (err) {
    deps.log.warn({ err: (err as Error).message, stream }, 'ledger horizon not raised; the next trim tries again')
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
      const release = holdEntries(deps.redis, stream, deps.settings, own.entries.map(([id]) => id))
      try {
        await processBatch(deps, own)
      } finally {
        release()
      }
    }
  }
}

/**
 * One batch, start to ack. Throws Aborted (nothing acked) when shutdown interrupts a retry. The caller holds
 * the batch's entries (holdEntries) while it runs.
 */
export async function processBatch(deps: LoopDeps, batch: Batch, lane = 0): Promise<ApplyResult> {
  const started = process.hrtime.bigint()
  const { settings, metrics } = deps
  const { entries, tooOften } = partitionByDeliveries(batch, settings.maxDeliveries)
  const { votes, rejected } = decodeAll(batch.stream, entries)
  // The batch is recorded by its first COMMIT; until one succeeds, the entry rides along with each attempt
  // (a retry after a lost COMMIT reply included: its statement counts only what no statement counted before).
  let unrecorded: LedgerEntry | undefined = ledgerFor(batch, settings.consumer, lane)
  const result = await applyIsolating(collapse(votes), {
    apply: async (some) => {
      const done = await applyWithRetry(deps, some, unrecorded)
      if (done.ledgerCounted !== undefined) unrecorded = undefined
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
  if (entry) await withRetry(() => recordOnly(deps.db, entry), { signal: deps.signal })
  const dead = [...tooOften, ...rejected, ...result.rejected]
  await deadLetter(deps.redis, settings, dead)
  await ack(deps.redis, batch.stream, settings.group, idsToAck(batch.entries, dead))
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
