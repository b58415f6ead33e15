import type { Cluster, Redis } from 'ioredis'
import type { RedisClient } from './client.js'

/**
 * SCAN + UNLINK every key under `prefix`: never FLUSHDB, the Redis may be shared with other runs and people.
 * On a Redis Cluster, every master is scanned (SCAN sees one node's keys) and each key unlinked alone
 * (keys of different slots cannot share a command), pipelined per page.
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<number> {
  if (!redis.isCluster) return deleteOnNode(redis as Redis, prefix, (keys) => redis.unlink(...keys))
  let deleted = 0
  for (const node of (redis as Cluster).nodes('master')) {
    deleted += await deleteOnNode(node, prefix, async (keys) => {
      const replies = await node.pipeline(keys.map((key) => ['unlink', key])).exec()
      return (replies ?? []).reduce((n, [err, count]) => { if (err) throw err; return n + Number(count) }, 0)
    })
  }
  return deleted
}

async function deleteOnNode(redis: Redis, prefix: string, unlink: (keys: string[]) => Promise<number>): Promise<number> {
  let cursor = '0'
  let deleted = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) deleted += await unlink(keys)
    cursor = next
  } while (cursor !== '0')
  return deleted
}
