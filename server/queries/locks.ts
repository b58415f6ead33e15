import type { Redis } from 'ioredis'
import type { RedisKeys } from '../../shared/redis/keys.js'
import type { ReadState } from '../read-state.js'

/**
 * When each content's vote lock ends (epoch ms), null when not locked, read from Redis in one MGET:
 * the path for reads while this process is not subscribed to lock announcements (server/read-state.ts).
 * A locked content's window holds minus the lock's end (vote.lua writes it); an open window holds a
 * positive count, which means "not locked". Reads must not fail with Redis: when it is unreachable
 * every lock is "unknown", shown as null.
 */
export async function readLocks(redis: Redis, keys: RedisKeys, ids: readonly number[]): Promise<(number | null)[]> {
  if (ids.length === 0) return []
  try {
    const windows = await redis.mget(...ids.map((id) => keys.window(id)))
    const now = Date.now()
    return windows.map((v) => {
      const ms = v === null ? NaN : -Number(v)
      return Number.isFinite(ms) && ms > now ? ms : null
    })
  } catch {
    return ids.map(() => null)
  }
}

/**
 * The lock ends of these contents as this process best knows them: from its read state while it is
 * subscribed to lock announcements (no round trip), else from Redis.
 */
export async function lockEnds(state: ReadState, redis: Redis, keys: RedisKeys, ids: readonly number[]): Promise<(number | null)[]> {
  if (!state.live) return readLocks(redis, keys, ids)
  const now = Date.now()
  return ids.map((id) => state.lockedUntil(id, now))
}
