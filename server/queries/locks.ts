import type { Redis } from 'ioredis'
import type { RedisKeys } from '../../shared/redis/keys.js'

/**
 * When each content's vote lock ends (null: not locked), in one round trip for the whole page.
 * A lock's value is its end as epoch milliseconds (vote.lua writes it). Reads must not fail with
 * Redis: when it is unreachable the answer is "unknown", shown as null, and `ok` is false.
 */
export async function lockedUntil(redis: Redis, keys: RedisKeys, ids: readonly number[]): Promise<{ until: (Date | null)[]; ok: boolean }> {
  if (ids.length === 0) return { until: [], ok: true }
  try {
    const values = await redis.mget(ids.map((id) => keys.lock(id)))
    const now = Date.now()
    return {
      ok: true,
      until: values.map((v) => {
        const ms = v === null ? NaN : Number(v)
        return Number.isFinite(ms) && ms > now ? new Date(ms) : null
      }),
    }
  } catch {
    return { until: ids.map(() => null), ok: false }
  }
}
