import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { checkReadiness, READINESS_TIMEOUT_MS } from '../../shared/readiness.js'
import { Liveness, Readiness, ref } from '../schemas.js'

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
      description: `Each dependency is probed with a ${READINESS_TIMEOUT_MS} ms timeout. Not rate limited.`,
      response: {
        200: ref(Readiness, 'PostgreSQL and Redis both answered'),
        503: ref(Readiness, 'PostgreSQL or Redis did not answer in time: the body says which (no code, no Retry-After)'),
      },
    },
  }, async (_req, reply) => {
    const readiness = await checkReadiness(app.db, app.redis)
    return reply.code(readiness.status === 'ok' ? 200 : 503).send(readiness)
  })
}

export default healthRoutes
