import fp from 'fastify-plugin'
import { closeRedis, createRedis, waitForReady, type RedisClient } from '../../shared/redis/client.js'
import { redisKeys, type RedisKeys } from '../../shared/redis/keys.js'
import { describeTarget, type RedisTarget } from '../../shared/redis/target.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient
    keys: RedisKeys
  }
}

export interface RedisPluginOptions {
  target: RedisTarget
  prefix: string
  /** VOTE_STREAM_SHARDS */
  shards: number
  commandTimeoutMs: number
  autoPipelining: boolean
}

export default fp<RedisPluginOptions>(async (app, opts) => {
  // No offline queue: while Redis is away a vote fails at once (503) and the rate limiter fails open,
  // instead of requests piling up behind a reconnect.
  const redis = createRedis(opts.target, {
    commandTimeoutMs: opts.commandTimeoutMs, offlineQueue: false, autoPipelining: opts.autoPipelining, name: 'tally-api',
  })
  let wasReady = false
  redis.on('ready', () => {
    app.log.info({ redis: describeTarget(opts.target) }, wasReady ? 'redis connection restored' : 'redis connected')
    wasReady = true
  })
  redis.on('end', () => app.log.debug('redis connection ended'))
  redis.on('error', (err: Error) => {
    if (wasReady) app.log.warn({ err: err.message }, 'redis connection error')
  })
  app.decorate<RedisClient>('redis', redis)
  app.decorate('keys', redisKeys(opts.prefix, opts.shards))
  // The API may start before Redis: reads work without it, and the client reconnects by itself.
  if (!(await waitForReady(redis, Math.max(2000, opts.commandTimeoutMs)))) {
    app.log.warn('redis is not reachable yet: votes will be refused with 503 until it is')
  }
  app.addHook('onClose', () => closeRedis(redis))
}, { name: 'redis' })
