import { readFileSync } from 'node:fs'
import { Redis, type RedisOptions, type Result } from 'ioredis'
import { withTimeout } from '../timeout.js'

export interface RedisClientOptions {
  /** Bound on every command: a stalled Redis turns into an error instead of a hung request. */
  commandTimeoutMs?: number
  /**
   * false: while disconnected, commands fail at once instead of queueing until Redis returns.
   * The API wants that (fail fast with 503, rate limiter fails open); blocking readers do not.
   */
  offlineQueue?: boolean
  autoPipelining?: boolean
  name?: string
}

const script = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8')

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** shared/redis/trim.lua: XTRIM MINID below what every group still needs; returns the threshold. */
    trimAcked(stream: string): Result<string, Context>
  }
}

export function createRedis(url: string, opts: RedisClientOptions = {}): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    enableOfflineQueue: opts.offlineQueue ?? true,
    enableAutoPipelining: opts.autoPipelining ?? false,
    commandTimeout: opts.commandTimeoutMs,
    connectTimeout: Math.max(1000, opts.commandTimeoutMs ?? 0),
    maxRetriesPerRequest: opts.offlineQueue === false ? 0 : 20,
    // Reconnect forever with a capped back-off: the processes recover by themselves when Redis is back.
    retryStrategy: (attempt) => Math.min(50 * attempt, 2000),
  }
  const redis = new Redis(url, options)
  // Without a listener ioredis prints every failed reconnect; the owners log state changes instead.
  redis.on('error', () => {})
  // Defined once per client: ioredis sends EVALSHA, and reloads the script by itself after NOSCRIPT.
  // castVotes takes its number of keys first: a batch has two per vote.
  redis.defineCommand('castVotes', { lua: script('vote.lua') })
  redis.defineCommand('trimAcked', { numberOfKeys: 1, lua: script('trim.lua') })
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

/**
 * QUIT when connected (pending replies arrive first), else drop the socket and stop reconnecting:
 * a QUIT sent while Redis is away would wait for a reconnect that may never come.
 */
export async function closeRedis(redis: Redis, timeoutMs = 2000): Promise<void> {
  if (redis.status === 'end') return
  if (redis.status !== 'ready') {
    redis.disconnect()
    return
  }
  try {
    await withTimeout(redis.quit(), timeoutMs, 'redis quit')
  } catch {
    redis.disconnect()
  }
}
