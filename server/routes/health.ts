import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'drizzle-orm'
import { withTimeout } from '../../shared/timeout.js'
import { Liveness, Readiness, ref } from '../schemas.js'

const PROBE_TIMEOUT_MS = 1000

/** Resolves to 'ok' or 'down' within the timeout: a hung dependency must not hang the probe. */
const probe = (check: () => Promise<unknown>): Promise<'ok' | 'down'> =>
  withTimeout(check(), PROBE_TIMEOUT_MS, 'readiness probe').then(() => 'ok' as const, () => 'down' as const)

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Probes are not rate limited: an orchestrator polls them from one address.
  const config = { rateLimit: false } as const

  app.get('/health/live', {
    config,
    schema: {
      tags: ['health'],
      operationId: 'checkLiveness',
      summary: 'The process is up',
      description: 'Answers while the process runs; touches neither PostgreSQL nor Redis. Not rate limited.',
      response: { 200: ref(Liveness, 'the process runs') },
    },
  }, async () => ({ status: 'ok' as const }))

  app.get('/health/ready', {
    config,
    schema: {
      tags: ['health'],
      operationId: 'checkReadiness',
      summary: 'PostgreSQL and Redis both answer (503 when either does not)',
      description: `Each dependency is probed with a ${PROBE_TIMEOUT_MS} ms timeout. Not rate limited.`,
      response: {
        200: ref(Readiness, 'PostgreSQL and Redis both answered'),
        503: ref(Readiness, 'PostgreSQL or Redis did not answer in time: the body says which (no code, no Retry-After)'),
      },
    },
  }, async (_req, reply) => {
    const [postgres, redis] = await Promise.all([probe(() => app.db.execute(sql`select 1`)), probe(() => app.redis.ping())])
    const status = postgres === 'ok' && redis === 'ok' ? 'ok' : 'down'
    return reply.code(status === 'ok' ? 200 : 503).send({ status, postgres, redis })
  })
}

export default healthRoutes
