import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Id, errors } from '../schemas.js'
import { createVoteService, type VoteSettings } from '../vote-service.js'

const VoteBody = Type.Object({
  content: Id,
  score: Type.Integer({ minimum: 0, maximum: 5 }),
}, { additionalProperties: false })

const VoteAccepted = Type.Object({
  content: Type.Integer(),
  score: Type.Integer(),
  status: Type.Literal('accepted'),
  id: Type.String({ description: 'stream entry id: the vote\'s place in the order votes are applied' }),
})

const voteRoutes: FastifyPluginAsyncTypebox<{ settings: VoteSettings }> = async (app, opts) => {
  const votes = createVoteService({ db: app.db, redis: app.redis, keys: app.keys, settings: opts.settings, log: app.log, count: app.countVote })
  app.addHook('onClose', async () => votes.close())

  app.post('/vote/', {
    // The per-user limit is counted by the vote script itself (one round trip per vote), not by the plugin.
    config: { rateLimit: false },
    // Before the body is even read (onRequest): an anonymous caller gets 401 whatever it sends, and an
    // unauthenticated client cannot make the API parse 16 KiB bodies.
    // A callback hook, not an async one: no promise per vote. A throw here reaches the error handler.
    onRequest: (req, _reply, done) => { req.requireUser(); done() },
    schema: {
      tags: ['votes'],
      summary: 'Rate a content 0..5, or change your rating. Accepted votes reach PostgreSQL shortly after (202).',
      security: [{ bearer: [] }],
      body: VoteBody,
      response: { 202: VoteAccepted, ...errors(400, 401, 404, 413, 415, 429, 503) },
    },
  }, async (req, reply) => {
    const { content, score } = req.body
    const id = await votes.castVote(req.requireUser(), content, score)
    return reply.code(202).send({ content, score, status: 'accepted' as const, id })
  })
}

export default voteRoutes
