import type { RedisClient } from '../shared/redis/client.js'
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'

/**
 * The two counters behind @fastify/rate-limit (its `store` option), chosen per route:
 * - in this process's memory for the general limit (reads, creates, unknown routes): no Redis round
 *   trip per request, which cost a read about as much CPU as serving it from the page cache. The
 *   trade-off: with API_PROCESSES > 1 each process counts alone, so the limit is split between them
 *   (server/plugins/rate-limit.ts), which holds while connections spread evenly, as node:cluster's
 *   round-robin spreads them; behind several hosts each host counts alone too.
 * - in Redis for routes marked `shared` (registration and login): a password guesser must
 *   meet one limit however many processes and hosts answer, and a login costs an argon2 hash anyway.
 * Both count fixed windows that open with a key's first request, as the plugin's own stores do.
 */
type Callback = Parameters<FastifyRateLimitStore['incr']>[1]

// Keys counted in memory at once; past it the oldest window is forgotten (its key starts afresh).
const MAX_LOCAL_KEYS = 100_000

export function rateLimitStore(redis: RedisClient, namespace: string): FastifyRateLimitStoreCtor {
  const windows = new Map<string, { count: number; endsAtMs: number }>()

  const local: FastifyRateLimitStore = {
    child: () => local,
    incr(key: string, done: Callback, timeWindowMs: number) {
      const now = Date.now()
      let window = windows.get(key)
      if (window === undefined || window.endsAtMs <= now) {
        window = { count: 0, endsAtMs: now + timeWindowMs }
        windows.delete(key)
        windows.set(key, window)
        if (windows.size > MAX_LOCAL_KEYS) windows.delete(windows.keys().next().value!)
      }
      window.count++
      done(null, { current: window.count, ttl: window.endsAtMs - now })
    },
  }

  const shared: FastifyRateLimitStore = {
    child: () => shared,
    incr(key: string, done: Callback, timeWindowMs: number) {
      const name = namespace + key
      redis.multi().incr(name).pexpire(name, timeWindowMs, 'NX').pttl(name).exec().then((replies) => {
        const current = Number(replies?.[0]?.[1])
        const ttl = Number(replies?.[2]?.[1])
        if (!Number.isFinite(current)) return done(new Error('rate limit counter unreadable'))
        done(null, { current, ttl: ttl > 0 ? ttl : timeWindowMs })
      }, (err: Error) => done(err))
    },
  }

  /** The class @fastify/rate-limit instantiates; child() is called per route with its merged options. */
  return class TallyRateLimitStore implements FastifyRateLimitStore {
    incr(key: string, done: Callback, timeWindowMs: number, max: number) { local.incr(key, done, timeWindowMs, max) }
    // The route's rate-limit config merged into the plugin's options: authRateLimit carries `shared`.
    child(routeOptions: object) { return (routeOptions as { shared?: boolean }).shared === true ? shared : local }
  }
}
