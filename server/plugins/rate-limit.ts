import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import { rateLimited } from '../errors.js'

export interface RateLimitOptions {
  perMinute: number
  authPerMinute: number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Route config for the password-guessing limit: per IP, RATE_LIMIT_AUTH_PER_MINUTE. */
    authRateLimit: { max: number; timeWindow: number; keyGenerator: (req: FastifyRequest) => string }
  }
}

const MINUTE_MS = 60_000

export default fp<RateLimitOptions>(async (app, opts) => {
  await app.register(rateLimit, {
    max: opts.perMinute,
    timeWindow: MINUTE_MS,
    // Stored in the shared Redis, so the limit holds across API replicas.
    redis: app.redis,
    nameSpace: app.keys.rateLimit,
    // Keyed by the verified user when a valid access token comes along, else by client IP.
    keyGenerator: (req) => {
      const userId = req.optionalUser()
      return userId === null ? `ip:${req.ip}` : `user:${userId}`
    },
    // Redis down must not take reads down with it: the limiter fails open.
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) => rateLimited(Math.max(1, Math.ceil(ctx.ttl / 1000))),
  })
  app.decorate('authRateLimit', {
    max: opts.authPerMinute,
    timeWindow: MINUTE_MS,
    keyGenerator: (req: FastifyRequest) => `ip:${req.ip}`,
  })
}, { name: 'rate-limit', dependencies: ['redis', 'auth'] })
