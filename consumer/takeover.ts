import { handOver, type StepDeps } from './batch-step.js'
import { moveRecordedBatches } from './ledger.js'
import { ignoreAbort, unlessAborted, withRetry } from './retry.js'
import { claimOwn, claimStale, ensureGroup, type Batch } from './stream.js'

/*
 * Entries this consumer takes from the group's pending lists rather than reads new: at start, those an earlier
 * process of its name left (joinGroup); then, a page of each stream at a time, those other consumers left idle
 * (staleClaims, which keeps each stream's cursor through its pending list).
 */

export interface TakeoverDeps extends StepDeps {
  streams: readonly string[]
}

/**
 * Before anything is read: the group of every stream exists, what consumers from before migration 0011 recorded
 * is where the takeover finds it, and what an earlier process of this name left pending is applied. Each part is
 * retried until it succeeds (Redis or PostgreSQL not up yet) or shutdown comes.
 */
export async function joinGroup(deps: TakeoverDeps): Promise<void> {
  const { signal, log } = deps
  await withRetry(async () => {
    for (const s of deps.streams) await unlessAborted(ensureGroup(deps.redis, s, deps.settings.group), signal)
  }, {
    signal, onRetry: (err) => log.warn({ err: (err as Error).message }, 'cannot create the consumer group yet'),
  }).catch(ignoreAbort)
  await withRetry(async () => {
    // Before any entry is taken: what consumers from before migration 0011 recorded must be found by the takeover.
    await moveRecordedBatches(deps.db)
    await takeBackOwn(deps)
  }, {
    signal, onRetry: (err) => log.warn({ err: (err as Error).message }, 'cannot take back this name\'s pending entries yet'),
  }).catch(ignoreAbort)
}

/** Apply what an earlier process of this name left pending (claimOwn), one batch after another. */
async function takeBackOwn(deps: TakeoverDeps): Promise<void> {
  for (const stream of deps.streams) {
    for (;;) {
      const own = await unlessAborted(claimOwn(deps.redis, stream, deps.settings), deps.signal)
      if (own === null) break
      deps.log.info({ stream, entries: own.entries.length }, 'taking back the entries an earlier process of this name left pending')
      deps.metrics.tookOver(own)
      await handOver(deps, own).run(0)
    }
  }
}

/**
 * The walk through every stream's pending list for entries left idle (claimStale). `claimPage` claims one page
 * of each stream, handing each batch it finds over as soon as it has it; it resolves true when the pass is done:
 * every stream's cursor has wrapped to 0-0.
 */
export function staleClaims(deps: TakeoverDeps) {
  const cursors = new Map(deps.streams.map((s) => [s, '0-0']))
  return {
    async claimPage(take: (batch: Batch) => Promise<void>): Promise<boolean> {
      for (const stream of deps.streams) {
        const claimed = await claimStale(deps.redis, stream, deps.settings, cursors.get(stream)!)
        cursors.set(stream, claimed.cursor)
        if (claimed.batch) {
          deps.metrics.tookOver(claimed.batch)
          await take(claimed.batch)
        }
        if (deps.signal.aborted) break
      }
      return [...cursors.values()].every((cursor) => cursor === '0-0')
    },
  }
}
