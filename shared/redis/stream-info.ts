import type { RedisClient } from './client.js'

/** Redis' flat [field, value, field, value, …] replies as an object. */
export function fieldsToRecord(flat: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1]
  return out
}

export interface GroupInfo {
  pending: number
  /** Entries not yet delivered to the group; null when Redis cannot tell (after some XDEL/XTRIM). */
  lag: number | null
  lastDelivered: string
  consumers: number
}

/** The group's row of XINFO GROUPS, or null while the stream or the group does not exist. */
export async function groupInfo(redis: RedisClient, stream: string, group: string): Promise<GroupInfo | null> {
  if (!(await redis.exists(stream))) return null
  const rows = (await redis.xinfo('GROUPS', stream)) as unknown[][]
  const mine = rows.map(fieldsToRecord).find((g) => g.name === group)
  if (!mine) return null
  return {
    pending: Number(mine.pending ?? 0),
    lag: mine.lag === null || mine.lag === undefined ? null : Number(mine.lag),
    lastDelivered: String(mine['last-delivered-id']),
    consumers: Number(mine.consumers ?? 0),
  }
}

/** Entries the group has yet to finish (undelivered + pending): 0 means all applied; Infinity while it does not exist. */
export async function groupBacklog(redis: RedisClient, stream: string, group: string): Promise<number> {
  const info = await groupInfo(redis, stream, group)
  return info === null ? Infinity : info.pending + (info.lag ?? 0)
}

/** groupBacklog over every shard's stream. */
export async function shardsBacklog(redis: RedisClient, streams: readonly string[], group: string): Promise<number> {
  let total = 0
  for (const stream of streams) total += await groupBacklog(redis, stream, group)
  return total
}
