import type { RedisClient } from '../../shared/redis/client.js'
import { groupInfo } from '../../shared/redis/stream-info.js'
import type { Watermark } from './store.js'

export interface ShardWatermark {
  /** The lowest entry id the group has not resolved: every entry below it is applied, stale or dead-lettered. */
  watermark: Watermark
  /** The id to read the stream after (XREAD's exclusive start) to see every entry from the watermark on. */
  after: string
}

/** "<ms>-<seq>" as numbers; a seq past 2^53 (Redis allows 2^64) only needs to stay past 2^21 (watermarkVersion). */
function idParts(id: string): { ms: number; seq: number } {
  const dash = id.indexOf('-')
  return { ms: Number(id.slice(0, dash)), seq: Number(id.slice(dash + 1)) }
}

/** The id just before `id`: XREAD has no inclusive start, and the oldest unresolved entry must be read too. */
export function idBefore(id: string): string {
  const dash = id.indexOf('-')
  const ms = BigInt(id.slice(0, dash))
  const seq = BigInt(id.slice(dash + 1))
  if (seq > 0n) return `${ms}-${seq - 1n}`
  return ms > 0n ? `${ms - 1n}-18446744073709551615` : '0-0'
}

/**
 * Where the group stands on one shard's stream, or null while the stream or the group does not exist (then
 * nothing is resolved: a group created later starts from the stream's beginning).
 *
 * With entries pending, the smallest pending id is the watermark: entries are delivered in id order, so every
 * entry below it was delivered, and one no longer pending was acknowledged. With none pending, everything up
 * to the last-delivered id is resolved. The last-delivered id is read BEFORE the pending summary: read after,
 * it could name entries delivered in between and still pending, which an empty summary would pass as resolved.
 */
export async function readWatermark(redis: RedisClient, stream: string, group: string): Promise<ShardWatermark | null> {
  const info = await groupInfo(redis, stream, group)
  if (info === null) return null
  const [count, smallest] = await redis.xpending(stream, group) as [number, string | null, ...unknown[]]
  if (Number(count) > 0 && smallest !== null) return { watermark: idParts(smallest), after: idBefore(smallest) }
  const last = idParts(info.lastDelivered)
  return { watermark: { ms: last.ms, seq: last.seq + 1 }, after: info.lastDelivered }
}
