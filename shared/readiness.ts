/**
 * The readiness probe, written once for the API's /health/ready (server/routes/health.ts) and a consumer's
 * (consumer/metrics.ts): PostgreSQL answers a query and Redis a PING, each within READINESS_TIMEOUT_MS.
 */
import { sql } from 'drizzle-orm'
import type { Db } from './db/client.js'
import type { RedisClient } from './redis/client.js'
import { withTimeout } from './timeout.js'

// A hung dependency must not hang the probe: past this it is "down".
export const READINESS_TIMEOUT_MS = 1000

export type Check = 'ok' | 'down'
export interface Readiness { status: Check; postgres: Check; redis: Check }

const probe = (work: () => Promise<unknown>): Promise<Check> =>
  withTimeout(work(), READINESS_TIMEOUT_MS, 'readiness probe').then(() => 'ok' as const, () => 'down' as const)

export async function checkReadiness(db: Db, redis: RedisClient): Promise<Readiness> {
  const [postgres, redisCheck] = await Promise.all([
    probe(() => db.execute(sql`select 1`)),
    // Not ready, not asked: a PING would wait in the offline queue for a reconnect. (The API's client has no
    // offline queue: its PING would fail at once, so the answer is the same.)
    probe(() => (redis.status === 'ready' ? redis.ping() : Promise.reject(new Error(redis.status)))),
  ])
  return { status: postgres === 'ok' && redisCheck === 'ok' ? 'ok' : 'down', postgres, redis: redisCheck }
}
