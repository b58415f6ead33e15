import { Redis, type RedisOptions } from 'ioredis'

export interface RedisClientOptions {
  /** Bound on every command: a stalled Redis turns into an error instead of a hung request. */
  commandTimeoutMs?: number
  /**
   * false: while disconnected, commands fail at once instead of queueing until Redis returns.
   * The API wants that (fail fast with 503, rate limiter fails open); blocking readers do not.
   */
  offlineQueue?: boolean
  name?: string
}

export function createRedis(url: string, opts: RedisClientOptions = {}): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    enableOfflineQueue: opts.offlineQueue ?? true,
    commandTimeout: opts.commandTimeoutMs,
    connectTimeout: Math.max(1000, opts.commandTimeoutMs ?? 0),
    maxRetriesPerRequest: opts.offlineQueue === false ? 0 : 20,
    // Reconnect forever with a capped back-off: the processes recover by themselves when Redis is back.
    retryStrategy: (attempt) => Math.min(50 * attempt, 2000),
  }
  const redis = new Redis(url, options)
  // Without a listener ioredis prints every failed reconnect; the owners log state changes instead.
  redis.on('error', () => {})
  return redis
}

/** Wait until the client is ready, or give up after `timeoutMs` (the caller decides whether that is fatal). */
export function waitForReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      resolve(ok)
    }
    const onReady = () => done(true)
    const timer = setTimeout(() => done(false), timeoutMs)
    redis.on('ready', onReady)
  })
}
