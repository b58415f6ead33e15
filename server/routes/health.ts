import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'drizzle-orm'

const Check = Type.Union([Type.Literal('ok'), Type.Literal('down')])
const Ready = Type.Object({ status: Check, postgres: Check, redis: Check })
const PROBE_TIMEOUT_MS = 1000

/** Resolves to 'ok' or 'down' within the timeout: a hung dependency must not hang the probe. */
async function probe(check: () => Promise<unknown>): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'down'>((resolve) => { timer = setTimeout(() => resolve('down'), PROBE_TIMEOUT_MS) })
  try {
    return await Promise.race([check().then(() => 'ok' as const, () => 'down' as const), timeout])
  } finally {
    clearTimeout(timer)
  }
}

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Probes are not rate limited: an orchestrator polls them from one address.
  const config = { rateLimit: false } as const

  app.get('/health/live', {
    config,
    schema: { tags: ['health'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }))

  app.get('/health/ready', {
    config,
    schema: { tags: ['health'], summary: 'PostgreSQL and Redis both answer (503 when either does not)', response: { 200: Ready, 503: Ready } },
  }, async (_req, reply) => {
    const [postgres, redis] = await Promise.all([probe(() => app.db.execute(sql`select 1`)), probe(() => app.redis.ping())])
    const status = postgres === 'ok' && redis === 'ok' ? 'ok' : 'down'
    return reply.code(status === 'ok' ? 200 : 503).send({ status, postgres, redis })
  })
}

export default healthRoutes
