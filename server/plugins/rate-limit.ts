import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest, RouteOptions } from 'fastify'
import { rateLimited } from '../errors.js'
import { rateLimitStore } from '../rate-limit-store.js'
import { clientNetwork } from '../client-address.js'
import { loginThrottle } from '../login-throttle.js'

export interface RateLimitOptions {
  perMinute: number
  authPerMinute: number
  /** API processes serving this port: each counts the general limit alone, so each takes its share. */
  processes: number
  /** LOGIN_FAILURES_PER_ACCOUNT (server/login-throttle.ts). */
  loginFailuresPerAccount: number
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Route config for the password-guessing limit: RATE_LIMIT_AUTH_PER_MINUTE per route and client network.
     * A route under it that can answer 401 (log-in) also gets the per-account limit of failed logins.
     */
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
    // Keyed by the verified user when a valid access token comes along, else by client network (an IPv6 /64).
    keyGenerator: (req) => {
      const userId = req.optionalUser()
      return userId === null ? `ip:${clientNetwork(req.ip)}` : `user:${userId}`
    },
    // Redis down must not lock everyone out of logging in: the shared limit fails open.
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) => rateLimited(Math.max(1, Math.ceil(ctx.ttl / 1000))),
  })
  const authRateLimit = {
    max: opts.authPerMinute,
    timeWindow: MINUTE_MS,
    // One count in Redis for every process and host: the password-guessing limit must not multiply.
    shared: true as const,
    // The route is part of the key: registrations must not use up the log-in budget, nor the reverse.
    keyGenerator: (req: FastifyRequest) => `auth:${req.routeOptions.url}:${clientNetwork(req.ip)}`,
  }
  app.decorate('authRateLimit', authRateLimit)

  // The routes own their handlers (routes/accounts.ts); the per-account limit rides on their hooks, so a
  // refused attempt stops before the handler's argon2 and a 401 is counted whatever the handler did.
  const { checkLogin, recordLogin } = loginThrottle(app.redis, app.keys, opts.loginFailuresPerAccount)
  app.addHook('onRoute', (route) => {
    if (route.config?.rateLimit !== authRateLimit || !answers401(route)) return
    route.preHandler = [...hooks(route.preHandler), checkLogin]
    route.onSend = [...hooks(route.onSend), recordLogin]
  })
}, { name: 'rate-limit', dependencies: ['redis', 'auth'] })

const answers401 = (route: RouteOptions) => Object.hasOwn((route.schema?.response ?? {}) as object, '401')
const hooks = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value])
