import type { RedisClient } from '../shared/redis/client.js'
import { batchLanes, type StepDeps } from './batch-step.js'
import { ignoreAbort, loopBackoffMs, sleep, unlessAborted, Aborted } from './retry.js'
import { isNoGroup, readNew, recreateGroups } from './stream.js'
import { joinGroup, staleClaims } from './takeover.js'
import { streamTrimmer } from './trim.js'

export interface LoopDeps extends StepDeps {
  /** Its own connection for XREADGROUP BLOCK, which holds a connection while it waits. */
  blocking: RedisClient
  streams: readonly string[]
  claimIntervalMs: number
  /** How often acknowledged entries are trimmed from each stream, and the ledger's horizon raised past them. */
  trimIntervalMs: number
  /** Batches applied at once, each on its own connection (consumer/lanes.ts); 1 when absent. */
  lanes?: number
}

/**
 * The thin loop: timing only. After joining the group, each turn claims a page of idle entries (until a pass over
 * every stream is done, then again claimIntervalMs later), reads new entries of every stream at once, and trims
 * every trimIntervalMs; after a failure it backs off; on the signal it stops and lets the lanes finish. What
 * becomes of a batch, from hand-over to release, is the step's (consumer/batch-step.ts).
 */
export async function runLoop(deps: LoopDeps): Promise<void> {
  const { signal, log } = deps
  await joinGroup(deps)
  const lanes = batchLanes(deps, deps.lanes ?? 1)
  const claims = staleClaims(deps)
  const trimmer = streamTrimmer(deps)
  let nextClaimAt = 0
  let nextTrimAt = Date.now() + deps.trimIntervalMs
  let failures = 0
  while (!signal.aborted) {
    try {
      if (Date.now() >= nextClaimAt && await claims.claimPage((batch) => lanes.handOver([batch]))) {
        nextClaimAt = Date.now() + deps.claimIntervalMs
      }
      if (signal.aborted) break
      // A read on a live connection is waited for (BLOCK is short, and what it returns is this consumer's
      // to apply); one queued while Redis is away is given up on shutdown: it can deliver nothing. The
      // batches go into lanes, so the next read (and, with two lanes, the next apply) overlaps this apply.
      const read = readNew(deps.blocking, deps.streams, deps.settings, signal)
      await lanes.handOver(deps.blocking.status === 'ready' ? await read : await unlessAborted(read, signal))
      if (Date.now() >= nextTrimAt) {
        await trimmer.trimAll()
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
  await lanes.finish()
}
