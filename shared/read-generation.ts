import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'

/*
 * The read generation: one Redis value that changes whenever PostgreSQL changes what a content read
 * returns. The API keeps recent list pages in memory and serves one only while the generation it was
 * read under is still current, so a cached page is never older than the last committed change.
 *
 * Writers set a fresh random value AFTER their commit (a reader that fetched the old value before the
 * commit then holds a page that no longer matches). Random values, not a counter: after Redis loses its
 * data a counter would start again at 1 and match pages cached before the loss.
 */

/** After a commit that changes contents or votes: every page cached before it stops matching. */
export async function bumpReadGeneration(redis: Redis, key: string): Promise<void> {
  await redis.set(key, randomUUID())
}

/**
 * The generation to cache a page under, read BEFORE the page's query. Made when missing (Redis lost
 * its data): SET NX, so of two readers racing, one sets it and the other caches nothing this time.
 * null when Redis cannot answer: the page is served from PostgreSQL and not cached.
 */
export async function currentReadGeneration(redis: Redis, key: string): Promise<string | null> {
  try {
    const value = await redis.get(key)
    if (value !== null) return value
    const fresh = randomUUID()
    return (await redis.set(key, fresh, 'NX')) === 'OK' ? fresh : null
  } catch {
    return null
  }
}
