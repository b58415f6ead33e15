import type { Redis } from 'ioredis'
import type { RedisKeys } from '../../shared/redis/keys.js'

export interface PageState {
  /** When each content's vote lock ends; null: not locked (or unknown, when Redis is unreachable). */
  until: (Date | null)[]
  /** The read generation (shared/read-generation.ts); null when missing or Redis is unreachable. */
  generation: string | null
  ok: boolean
}

/**
 * The live state of a page of contents, in one round trip: every item's lock and the read generation.
 * A locked content's window holds minus the lock's end in epoch milliseconds (vote.lua writes it); an
 * open window holds a positive count, which means "not locked". Reads must not fail with
 * Redis: when it is unreachable the locks are "unknown", shown as null, and `ok` is false.
 */
export async function readPageState(redis: Redis, keys: RedisKeys, ids: readonly number[]): Promise<PageState> {
  try {
    const [generation = null, ...windows] = await redis.mget(keys.readGeneration, ...ids.map((id) => keys.window(id)))
    const now = Date.now()
    return {
      ok: true,
      generation,
      until: windows.map((v) => {
        const ms = v === null ? NaN : -Number(v)
        return Number.isFinite(ms) && ms > now ? new Date(ms) : null
      }),
    }
  } catch {
    return { until: ids.map(() => null), generation: null, ok: false }
  }
}
