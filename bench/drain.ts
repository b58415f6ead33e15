import type { RedisClient } from '../shared/redis/client.js'
import { createDb } from '../shared/db/client.js'
import { audit } from '../audit/audit.js'
import { redisKeys } from '../shared/redis/keys.js'
import type { World } from './world.js'
import { shardsBacklog } from '../shared/redis/stream-info.js'

/**
 * After the load stops: how long until everything accepted is applied (group lag and pending both 0),
 * then the audit of the invariant. A failed audit fails the bench (exit code 1). `drained` runs once the
 * backlog is empty (or the wait gave up), before the audit: the CPU meter stops there, so the
 * consumers' work on the last votes counts and the audit's full scan of votes does not.
 */
export async function waitForDrain(redis: RedisClient, world: World, group: string, consumersRunning: boolean,
  drained: () => Promise<void> = async () => {}, timeoutMs = 120_000) {
  if (!consumersRunning) {
    await drained()
    return { skipped: 'no consumers' }
  }
  const db = createDb(world.databaseUrl, { max: 1 })
  const keys = redisKeys(world.prefix, world.shards)
  const streams = Array.from({ length: keys.shards }, (_, shard) => keys.stream(shard))
  const started = Date.now()
  try {
    for (;;) {
      const backlog = await shardsBacklog(redis, streams, group)
      if (backlog === 0) {
        // Taken before the audit, which reads every votes row and would otherwise count as drain time.
        const drainedAfterMs = Date.now() - started
        await drained()
        const report = await audit(db, redis, keys, group)
        if (!report.ok) process.exitCode = 1
        return { drainedAfterMs, auditOk: report.ok, votesRows: report.votes, deadLetters: report.deadLetters }
      }
      if (Date.now() - started > timeoutMs) {
        await drained()
        process.exitCode = 1
        return { drainedAfterMs: null, backlog, auditOk: false }
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await db.close()
  }
}
