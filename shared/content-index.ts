import { gt, asc } from 'drizzle-orm'
import type { RedisClient } from './redis/client.js'
import type { Db } from './db/client.js'
import { contents } from './db/schema.js'
import type { RedisKeys } from './redis/keys.js'

/*
 * Which content ids exist, in Redis, so a vote for an unknown content is refused without PostgreSQL.
 * One bitmap per stream shard; bit N is content N. Bit 0 (no content has id 0) says "this bitmap is
 * complete": it is set only by a rebuild from PostgreSQL, so after Redis loses its data the vote
 * script sees it unset and asks for a rebuild instead of refusing real contents.
 */

const CHUNK = 100_000

/** Called inside the transaction that inserts the content, before COMMIT: a committed content always has its bit. */
export async function markContentExists(redis: RedisClient, keys: RedisKeys, id: number): Promise<void> {
  await redis.setbit(keys.contentExists(keys.shardOf(id)), id, 1)
}

/** For an insert that was rolled back after its bit was (or may yet be) set: votes for it must be 404. */
export async function unmarkContent(redis: RedisClient, keys: RedisKeys, id: number): Promise<void> {
  await redis.setbit(keys.contentExists(keys.shardOf(id)), id, 0)
}

/**
 * Rebuild every shard's bitmap from PostgreSQL. Bits are OR-ed into the live bitmap, never replace
 * it, so a content created while this runs keeps the bit its own insert set. Safe to run concurrently.
 */
export async function rebuildContentIndex(db: Db, redis: RedisClient, keys: RedisKeys): Promise<number> {
  const perShard = Array.from({ length: keys.shards }, () => [] as number[])
  let last = 0
  let total = 0
  for (;;) {
    const rows = await db.select({ id: contents.id }).from(contents).where(gt(contents.id, last)).orderBy(asc(contents.id)).limit(CHUNK)
    for (const { id } of rows) perShard[keys.shardOf(id)]!.push(id)
    total += rows.length
    if (rows.length < CHUNK) break
    last = rows[rows.length - 1]!.id
  }
  for (let shard = 0; shard < keys.shards; shard++) {
    const bitmap = keys.contentExists(shard)
    const staging = keys.contentExistsStaging(shard)
    await redis.multi()
      .set(staging, toBitmap(perShard[shard]!))
      .bitop('OR', bitmap, bitmap, staging)
      .setbit(bitmap, 0, 1)
      .del(staging)
      .exec()
  }
  return total
}

/** Redis bitmap layout: bit N is the (N % 8)th most significant bit of byte N / 8. */
export function toBitmap(ids: readonly number[]): Buffer {
  let max = 0
  for (const id of ids) if (id > max) max = id
  const buf = Buffer.alloc((max >> 3) + 1)
  for (const id of ids) buf[id >> 3]! |= 0x80 >> (id & 7)
  return buf
}
