import type { Logger } from 'pino'
import type { Db } from '../shared/db/client.js'
import { pgErrorCode } from '../shared/db/errors.js'
import { announceVotesChanged } from '../shared/read-changes.js'
import type { RedisClient } from '../shared/redis/client.js'
import { applyVotes, type ApplyResult } from './apply.js'
import { collapse } from './collapse.js'
import { deadLetter, type Rejected } from './dead-letters.js'
import { decodeAll, type StreamEntry, type Vote } from './decode.js'
import { applyIsolating } from './isolate.js'
import { createLanes } from './lanes.js'
import { ledgerFor, recordOnly, type LedgerEntry } from './ledger.js'
import type { ConsumerMetrics } from './metrics.js'
import type { Reranker } from './rankings.js'
import { Aborted, withRetry } from './retry.js'
import { ack, holdEntries, type Batch, type StreamSettings } from './stream.js'

/*
 * The step: one batch from hand-over to release. Its entries are held from the moment it is handed over,
 * then: partition by deliveries → decode → collapse → apply (one statement, with the batch's ledger entry)
 * → dead-letter the rejects → XACK → release, and a report of what it came to. Every rule of a batch is
 * here or in the pure modules it calls; the loop only decides when batches arrive.
 * XACK only after COMMIT: a crash in between redelivers the batch, and the versioned upsert makes the replay a no-op.
 */

export interface StepDeps {
  db: Db
  /** Commands: XACK, XADD, XCLAIM (the hold). */
  redis: RedisClient
  /** Where each commit's changed contents are announced, so the API's cached pages showing them go. */
  readChangesChannel: string
  /** Told each commit's contents, to re-rank them at its next tick (consumer/rankings.ts). */
  rankings?: Pick<Reranker, 'changed'>
  settings: StreamSettings
  metrics: ConsumerMetrics
  log: Logger
  signal: AbortSignal
}

/** What one batch came to: entries = applied + stale + superseded + dead. */
export interface BatchReport {
  stream: string
  entries: number
  /** Votes that changed a row (new, or newer than the stored one). */
  applied: number
  /** Votes a COMMIT found older than or equal to the stored one (a replay, an out-of-order delivery): nothing changed. */
  stale: number
  /** Votes a newer vote of the same (user, content) in the batch replaced before the apply. */
  superseded: number
  /** Entries given up on, each with its reason: written to the dead letters, and acked there. */
  dead: Rejected[]
  /** Entries acked after the COMMIT: every one but the dead. */
  acked: number
  /** Entries the ledger counted for this batch now; those a statement had counted before (a replay) are not. */
  ledgerCounted: number
}

/** A batch in hand: its entries are held (holdEntries) from its hand-over until `run` ends or `release` is called. */
export interface BatchInHand {
  readonly batch: Batch
  /** The step, in `lane` (its ledger row: consumer/ledger.ts counterOf); releases the batch when done, failed or not. */
  run(lane: number): Promise<BatchReport>
  /** Let it go unprocessed: it stays pending, to be taken over or taken back; its replay then changes nothing. */
  release(): void
}

/**
 * Take `batch` in hand, so another consumer does not take a live consumer's batch for a dead one's while
 * it waits for a lane or takes long (PostgreSQL away, a row lock held elsewhere).
 */
export function handOver(deps: StepDeps, batch: Batch): BatchInHand {
  const release = holdEntries(deps.redis, batch.stream, deps.settings, batch.entries.map(([id]) => id))
  return {
    batch,
    release,
    async run(lane) {
      try {
        return await processBatch(deps, batch, lane)
      } finally {
        release()
      }
    },
  }
}

/**
 * `width` lanes, each applying one batch at a time on a connection of its own (consumer/lanes.ts). `handOver`
 * takes batches in hand at once (a batch waiting for a lane is in hand too) and resolves once each has started
 * in a lane; a batch that could not start (an earlier one failed: rejected with that failure) is released, left
 * pending to be taken over or taken back, as when a batch failed before.
 */
export function batchLanes(deps: StepDeps, width: number) {
  const lanes = createLanes(width)
  return {
    async handOver(batches: readonly Batch[]): Promise<void> {
      const inHand = batches.map((b) => handOver(deps, b))
      let i = 0
      try {
        for (; i < inHand.length; i++) {
          const batch = inHand[i]!
          await lanes.start((lane) => batch.run(lane))
        }
      } finally {
        for (; i < inHand.length; i++) inHand[i]!.release()
      }
    },
    /**
     * At shutdown: the batches in the lanes are finished (or, should Redis or PostgreSQL be away, left
     * pending to be taken over; their replay changes nothing).
     */
    async finish(): Promise<void> {
      try {
        await lanes.settle()
      } catch (err) {
        if (!(err instanceof Aborted)) deps.log.warn({ err: (err as Error).message }, 'batches in hand left pending at shutdown')
      }
    },
  }
}

/** The step itself. Throws Aborted (nothing acked) when shutdown interrupts a retry. */
async function processBatch(deps: StepDeps, batch: Batch, lane: number): Promise<BatchReport> {
  const started = process.hrtime.bigint()
  const { settings, metrics } = deps
  const { entries, tooOften } = partitionByDeliveries(batch, settings.maxDeliveries)
  const { votes, rejected } = decodeAll(batch.stream, entries)
  const newest = collapse(votes)
  // The batch is recorded by its first COMMIT; until one succeeds, the entry rides along with each attempt
  // (a retry after a lost COMMIT reply included: its statement counts only what no statement counted before).
  let unrecorded: LedgerEntry | undefined = ledgerFor(batch, settings.consumer, lane)
  let ledgerCounted = 0
  const result = await applyIsolating(newest, {
    apply: async (some) => {
      const done = await applyWithRetry(deps, some, unrecorded)
      if (done.ledgerCounted !== undefined) {
        unrecorded = undefined
        ledgerCounted = done.ledgerCounted
      }
      return done
    },
    // Right after each COMMIT (each half of a split batch too, which may wait out an outage before the
    // next half), before XACK: should the announcement fail, the batch is redelivered, replayed (changing
    // nothing), and announced then. Every content of the batch, applied or not: a superset is safe.
    committed: (some, done) => {
      metrics.committed(some, done, Date.now())
      const contents = [...new Set(some.map((v) => v.contentId))]
      deps.rankings?.changed(contents)
      return announceVotesChanged(deps.redis, deps.readChangesChannel, contents)
    },
  })
  // Nothing of the batch reached a COMMIT (every vote dead, or none at all): it is recorded on its own.
  const entry = unrecorded as LedgerEntry | undefined
  if (entry) ledgerCounted = await withRetry(() => recordOnly(deps.db, entry), { signal: deps.signal })
  const dead = [...tooOften, ...rejected, ...result.rejected]
  await deadLetter(deps.redis, settings, dead)
  const acked = idsToAck(batch.entries, dead)
  await ack(deps.redis, batch.stream, settings.group, acked)
  for (const r of dead) deps.log.warn({ entry: r.entryId, reason: r.reason }, 'vote dead-lettered')
  metrics.batchApplied(batch.entries.length, result, dead, Number(process.hrtime.bigint() - started) / 1e9)
  return {
    stream: batch.stream, entries: batch.entries.length, applied: result.applied, stale: result.stale,
    superseded: votes.length - newest.length, dead, acked: acked.length, ledgerCounted,
  }
}

/** applyVotes, retried on transient errors; shutdown during the retries wins (Aborted, nothing dead-lettered). */
async function applyWithRetry(deps: StepDeps, votes: Vote[], ledger?: LedgerEntry): Promise<ApplyResult> {
  try {
    return await withRetry(() => applyVotes(deps.db, votes, ledger), {
      signal: deps.signal,
      onRetry: (err, attempt) => deps.log.warn({ err: (err as Error).message, code: pgErrorCode(err), attempt, votes: votes.length },
        'apply failed; retrying'),
    })
  } catch (err) {
    throw deps.signal.aborted ? new Aborted() : err
  }
}

/**
 * Split a batch by delivery count: entries delivered more than maxDeliveries times are given up on
 * (dead-lettered as max_deliveries, never applied: a vote that keeps killing or stalling its consumer
 * must not take the next one with it), the rest are applied. Only entries taken over from another
 * consumer carry a count; a new read is a first delivery.
 */
export function partitionByDeliveries(batch: Batch, maxDeliveries: number): { entries: StreamEntry[]; tooOften: Rejected[] } {
  const deliveries = batch.deliveries
  if (deliveries === undefined) return { entries: batch.entries, tooOften: [] }
  const entries: StreamEntry[] = []
  const tooOften: Rejected[] = []
  for (const entry of batch.entries) {
    const [entryId, fields] = entry
    if ((deliveries.get(entryId) ?? 1) <= maxDeliveries) entries.push(entry)
    else tooOften.push({ stream: batch.stream, entryId, reason: 'max_deliveries', fields })
  }
  return { entries, tooOften }
}

/**
 * The ids the step acks once the batch is committed: every entry but the dead-lettered ones, which
 * deadLetter acks itself only after their XADD succeeded (an entry is never acked before it is
 * either applied or kept as a dead letter).
 */
export function idsToAck(entries: readonly StreamEntry[], dead: readonly Rejected[]): string[] {
  const ids = entries.map(([id]) => id)
  if (dead.length === 0) return ids
  const deadIds = new Set(dead.map((r) => r.entryId))
  return ids.filter((id) => !deadIds.has(id))
}
