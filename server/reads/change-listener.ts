import type { Cluster } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from '../../shared/redis/client.js'
import type { RedisKeys } from '../../shared/redis/keys.js'
import type { RedisTarget } from '../../shared/redis/target.js'
import { createSubscriber } from './redis-subscriber.js'
import { parseLockMessage, parseReadChange } from './change-messages.js'
import type { ChangeTracker } from './change-tracker.js'

const RESYNC_RETRY_MS = 1000

export interface ChangeListenerOptions {
  target: RedisTarget
  connectionName: string
  /** The main client: it reads the live locks, which the subscriber connection cannot once subscribed. */
  redis: RedisClient
  keys: RedisKeys
  log: FastifyBaseLogger
}

/**
 * One subscriber connection per API process: the read-changes channel and every shard's lock
 * channel feed this process's ChangeTracker. On every (re)subscription the live locks are loaded from
 * the shards' lock sets, AFTER subscribing, so a lock set in between is not missed either way.
 * Returns what stops listening (the tracker is then no longer live).
 */
export function listenForChanges(tracker: ChangeTracker, opts: ChangeListenerOptions): { close(): Promise<void> } {
  const { keys, redis } = opts
  const lockChannels = Array.from({ length: keys.shards }, (_, shard) => keys.locks(shard))
  const subscriber = createSubscriber(opts.target, opts.connectionName, redis.isCluster ? redis as Cluster : undefined)

  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.readChanges) {
      const change = parseReadChange(message)
      if (change.all) tracker.allChanged()
      else tracker.contentsChanged(change.contentIds)
      return
    }
    const lock = parseLockMessage(message)
    if (lock) tracker.lockSet(lock.contentId, lock.untilMs)
  })

  let resyncing: Promise<void> | undefined
  const resync = () => (resyncing ??= (async () => {
    try {
      // ioredis subscribes again by itself after a reconnect; subscribing twice is harmless.
      await subscriber.subscribe(keys.readChanges, ...lockChannels)
      const now = Date.now()
      // The subscriber connection can run ZRANGE only before its first SUBSCRIBE, so the main client reads them.
      const sets = await Promise.all(lockChannels.map((key) => redis.zrange(key, now, '+inf', 'BYSCORE', 'WITHSCORES')))
      const locks: [number, number][] = []
      for (const flat of sets) for (let i = 0; i + 1 < flat.length; i += 2) locks.push([Number(flat[i]), Number(flat[i + 1])])
      if (subscriber.status === 'ready') tracker.resynced(locks)
    } catch (err) {
      opts.log.warn({ err: (err as Error).message }, 'read changes not subscribed: lists are read from postgresql until they are')
      retry = setTimeout(() => { if (subscriber.status === 'ready') void resync() }, RESYNC_RETRY_MS)
      retry.unref()
    } finally {
      resyncing = undefined
    }
  })())
  let retry: NodeJS.Timeout | undefined
  subscriber.on('ready', () => { void resync() })
  subscriber.on('close', () => tracker.disconnected())
  return {
    async close() {
      clearTimeout(retry)
      tracker.disconnected()
      await subscriber.close()
    },
  }
}
