import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from '../shared/config.js'
import { loggerOptions } from '../shared/logger.js'
import { clientErrorHandler, errorHandler, frameworkErrorHandler, notFoundHandler } from './errors.js'
import { validatorCompiler } from './validation.js'
import { acceptFormBodies } from './form-body.js'
import { limitBodiesBySchema } from './body-limit.js'
import dbPlugin from './plugins/db.js'
import redisPlugin from './plugins/redis.js'
import { redisTarget } from '../shared/redis/target.js'
import readsPlugin from './reads/plugin.js'
import pendingVotesPlugin from './pending-votes/plugin.js'
import authPlugin from './plugins/auth.js'
import loginPasswordsPlugin from './plugins/login-passwords.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import { trustProxyOption } from './client-address.js'
import docsPlugin from './plugins/docs.js'
import securityHeaders from './plugins/security-headers.js'
import metricsPlugin from './plugins/metrics.js'
import healthRoutes from './routes/health.js'
import accountRoutes from './routes/accounts.js'
import contentRoutes from './routes/contents.js'
import voteRoutes from './routes/votes.js'

// Routes without a body schema, and the least any route gets; a route with one gets what its fields need.
const BODY_LIMIT_BYTES = 16 * 1024
// A client must send its whole request within this: one that stops half-way through a body would
// otherwise hold its connection (Node's default allows five minutes).
const REQUEST_TIMEOUT_MS = 30_000
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/** The whole API as a Fastify instance, ready for `listen` (server/main.ts) or `inject` (tests). Never listens. */
export async function buildApp(config: Config, opts: FastifyServerOptions = {}) {
  const app = Fastify({
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    logger: loggerOptions(config.LOG_LEVEL, 'tally-api'),
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 100 },
    // false: genReqId sees every request, so an insane incoming id is replaced rather than echoed.
    requestIdHeader: false,
    genReqId: (req) => {
      // A caller's X-Request-Id is kept when it is sane, so one id follows a request across services.
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    // Fastify hands pino `{}` as child options, which sends pino's child() down its slow path (new
    // formatters for every request: ~3% of a vote's CPU). Without route-level log settings there is
    // nothing to pass, and pino takes its fast path.
    childLoggerFactory: (logger, bindings, childOpts) =>
      (childOpts.level || childOpts.serializers ? logger.child(bindings, childOpts) : logger.child(bindings)),
    ajv: undefined,
    ...opts,
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.setValidatorCompiler(validatorCompiler())
  app.setErrorHandler(errorHandler)
  // JSON and forms only: a text/plain body is refused with 415 instead of failing validation as a string.
  app.removeContentTypeParser('text/plain')
  acceptFormBodies(app)
  limitBodiesBySchema(app, BODY_LIMIT_BYTES)
  await app.register(securityHeaders)
  await app.register(dbPlugin, { url: config.DATABASE_URL, poolSize: config.DB_POOL_SIZE })
  await app.register(redisPlugin, {
    target: redisTarget(config), prefix: config.REDIS_PREFIX, shards: config.VOTE_STREAM_SHARDS,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, autoPipelining: config.REDIS_AUTO_PIPELINING,
  })
  await app.register(pendingVotesPlugin, {
    target: redisTarget(config), connectionName: `tally-api:pending:${config.REDIS_PREFIX}`, group: config.CONSUMER_GROUP,
    maxRecords: config.PENDING_VOTES_MAX,
  })
  await app.register(readsPlugin, {
    target: redisTarget(config), connectionName: `tally-api:reads:${config.REDIS_PREFIX}`, readCacheMs: config.READ_CACHE_MS,
    rankingRefreshMs: config.RANKING_REFRESH_MS,
  })
  await app.register(authPlugin, {
    secret: config.JWT_SECRET, accessTtlSeconds: config.JWT_ACCESS_TTL, refreshTtlSeconds: config.JWT_REFRESH_TTL,
    legacySecret: config.JWT_LEGACY_SECRET,
    legacyLifetimeSeconds: config.JWT_LEGACY_REFRESH_TTL,
  })
  await app.register(loginPasswordsPlugin)
  await app.register(rateLimitPlugin, {
    perMinute: config.RATE_LIMIT_PER_MINUTE, authPerMinute: config.RATE_LIMIT_AUTH_PER_MINUTE, processes: config.API_PROCESSES,
    loginFailuresPerAccount: config.LOGIN_FAILURES_PER_ACCOUNT,
  })
  await app.register(docsPlugin)
  await app.register(metricsPlugin, { supervisorRestarts: config.SUPERVISOR_RESTARTS })

  await app.register(healthRoutes)
  await app.register(accountRoutes, { prefix: '/api' })
  await app.register(contentRoutes, { prefix: '/api' })
  await app.register(voteRoutes, {
    prefix: '/api',
    settings: {
      limit: config.VOTE_THRESHOLD_COUNT_LIMIT,
      windowSeconds: config.VOTE_THRESHOLD_PERIOD,
      lockSeconds: config.LOCK_DURATION,
      timeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
      requestsPerMinute: config.RATE_LIMIT_PER_MINUTE,
    },
  })

  // Unknown routes are rate limited too, so scanning for them costs the scanner, not us.
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, notFoundHandler)
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
