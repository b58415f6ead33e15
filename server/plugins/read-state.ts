import fp from 'fastify-plugin'
import type { Cluster } from 'ioredis'
import { createSubscriber } from '../../shared/redis/subscriber.js'
import type { RedisTarget } from '../../shared/redis/target.js'
import { parseLockMessage, parseReadChange } from '../../shared/read-changes.js'
import { createReadState, type ReadState } from '../read-state.js'

const RESYNC_RETRY_MS = 1000

declare module 'fastify' {
  interface FastifyInstance {
    readState: ReadState
  }
}

/**
 * One subscriber connection per API process: the read-changes channel and every shard's lock
 * channel feed this process's ReadState. On every (re)subscription the live locks are loaded from
 * the shards' lock sets, AFTER subscribing, so a lock set in between is not missed either way.
 */
export default fp<{ target: RedisTarget; connectionName: string }>(async (app, opts) => {
  const state = createReadState()
  app.decorate('readState', state)
  const { keys } = app
  const lockChannels = Array.from({ length: keys.shards }, (_, shard) => keys.locks(shard))
  const subscriber = createSubscriber(opts.target, opts.connectionName, app.redis.isCluster ? app.redis as Cluster : undefined)

  subscriber.on('message', (channel: string, message: string) => {
    if (channel === keys.readChanges) {
      const change = parseReadChange(message)
      if (change.all) state.allChanged()
      else state.contentsChanged(change.contentIds)
      return
    }
    const lock = parseLockMessage(message)
    if (lock) state.lockSet(lock.contentId, lock.untilMs)
  })

  let resyncing: Promise<void> | undefined
  const resync = () => (resyncing ??= (async () => {
    try {
      // ioredis subscribes again by itself after a reconnect; subscribing twice is harmless.
      await subscriber.subscribe(keys.readChanges, ...lockChannels)
      const now = Date.now()
      // The subscriber connection can run ZRANGE only before its first SUBSCRIBE, so the main client reads them.
      const sets = await Promise.all(lockChannels.map((key) => app.redis.zrange(key, now, '+inf', 'BYSCORE', 'WITHSCORES')))
      const locks: [number, number][] = []
      for (const flat of sets) for (let i = 0; i + 1 < flat.length; i += 2) locks.push([Number(flat[i]), Number(flat[i + 1])])
      if (subscriber.status === 'ready') state.resynced(locks)
    } catch (err) {
      app.log.warn({ err: (err as Error).message }, 'read changes not subscribed: lists are read from postgresql until they are')
      retry = setTimeout(() => { if (subscriber.status === 'ready') void resync() }, RESYNC_RETRY_MS)
      retry.unref()
    } finally {
      resyncing = undefined
    }
  })())
  let retry: NodeJS.Timeout | undefined
  subscriber.on('ready', () => void resync())
  subscriber.on('close', () => state.disconnected())
  app.addHook('onClose', async () => {
    clearTimeout(retry)
    state.disconnected()
    await subscriber.close()
  })
}, { name: 'read-state', dependencies: ['redis'] })
