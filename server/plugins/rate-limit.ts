import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import { rateLimited } from '../errors.js'
import { rateLimitStore } from '../rate-limit-store.js'

export interface RateLimitOptions {
  perMinute: number
  authPerMinute: number
  /** API processes serving this port: each counts the general limit alone, so each takes its share. */
  processes: number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Route config for the password-guessing limit: per IP, RATE_LIMIT_AUTH_PER_MINUTE. */
    authRateLimit: { max: number; timeWindow: number; shared: true; keyGenerator: (req: FastifyRequest) => string }
  }
}

const MINUTE_MS = 60_000

export default fp<RateLimitOptions>(async (app, opts) => {
  await app.register(rateLimit, {
    max: Math.max(1, Math.floor(opts.perMinute / opts.processes)),
    timeWindow: MINUTE_MS,
    // Counted in memory, apart from the routes marked shared (rate-limit-store.ts says why).
    store: rateLimitStore(app.redis, app.keys.rateLimit),
    // Keyed by the verified user when a valid access token comes along, else by client IP.
    keyGenerator: (req) => {
      const userId = req.optionalUser()
      return userId === null ? `ip:${req.ip}` : `user:${userId}`
    },
    // Redis down must not lock everyone out of logging in: the shared limit fails open.
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) => rateLimited(Math.max(1, Math.ceil(ctx.ttl / 1000))),
  })
  app.decorate('authRateLimit', {
    max: opts.authPerMinute,
    timeWindow: MINUTE_MS,
    // One count in Redis for every process and host: the password-guessing limit must not multiply.
    shared: true,
    keyGenerator: (req: FastifyRequest) => `ip:${req.ip}`,
  })
}, { name: 'rate-limit', dependencies: ['redis', 'auth'] })
