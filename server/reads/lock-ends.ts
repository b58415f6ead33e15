import type { RedisClient } from '../../shared/redis/client.js'
import type { RedisKeys } from '../../shared/redis/keys.js'
import type { ChangeTracker } from './change-tracker.js'

/**
 * When each content's vote lock ends (epoch ms), null when not locked, read from Redis in one MGET (on
 * a Redis Cluster one per shard, whose windows share a slot, sent at once: one round trip per master):
 * the path for reads while this process is not subscribed to lock announcements (change-tracker.ts).
 * A locked content's window holds minus the lock's end (vote.lua writes it); an open window holds a
 * positive count, which means "not locked". Reads must not fail with Redis: when it is unreachable
 * every lock is "unknown", shown as null.
 */
export async function readLocks(redis: RedisClient, keys: RedisKeys, ids: readonly number[]): Promise<(number | null)[]> {
  if (ids.length === 0) return []
  try {
    const windows = await readWindows(redis, keys, ids)
    const now = Date.now()
    return windows.map((v) => {
      const ms = v === null ? NaN : -Number(v)
      return Number.isFinite(ms) && ms > now ? ms : null
    })
  } catch {
    return ids.map(() => null)
  }
}

async function readWindows(redis: RedisClient, keys: RedisKeys, ids: readonly number[]): Promise<(string | null)[]> {
  if (!redis.isCluster || keys.shards === 1) return redis.mget(...ids.map((id) => keys.window(id)))
  const byShard = new Map<number, number[]>()
  ids.forEach((id, i) => {
    const shard = keys.shardOf(id)
    const at = byShard.get(shard)
    if (at) at.push(i)
    else byShard.set(shard, [i])
  })
  const windows: (string | null)[] = new Array(ids.length).fill(null)
  await Promise.all([...byShard.values()].map(async (at) => {
    const got = await redis.mget(...at.map((i) => keys.window(ids[i]!)))
    at.forEach((i, j) => { windows[i] = got[j] ?? null })
  }))
  return windows
}

/**
 * The lock ends of these contents as this process best knows them: from its change tracker while it
 * is subscribed to lock announcements (no round trip), else from Redis.
 */
export async function lockEnds(tracker: ChangeTracker, redis: RedisClient, keys: RedisKeys, ids: readonly number[]):
Promise<(number | null)[]> {
  if (!tracker.live) return readLocks(redis, keys, ids)
  const now = Date.now()
  return ids.map((id) => tracker.lockedUntil(id, now))
}
