import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Id, VoteAccepted, VoteRetracted, errors, ref } from '../schemas.js'
import { BODY_MEDIA_TYPES } from '../form-body.js'
import { createVoteService, type VoteSettings } from '../vote-service.js'

const VoteBody = Type.Object({
  content: Id,
  score: Type.Integer({ minimum: 0, maximum: 5 }),
}, { additionalProperties: false })

const voteRoutes: FastifyPluginAsyncTypebox<{ settings: VoteSettings }> = async (app, opts) => {
  const votes = createVoteService({
    db: app.db, redis: app.redis, keys: app.keys, settings: opts.settings, log: app.log, count: app.countVote,
    accepted: app.pendingVotes.record,
  })
  app.addHook('onClose', async () => votes.close())

  // What a vote and a retraction share. The per-user limit is counted by the vote script itself, in the call that
  // decides the vote, not by the plugin. The token is checked before the body is even read (onRequest): an anonymous
  // caller gets 401 whatever it sends, and an unauthenticated client cannot make the API parse 16 KiB bodies. A
  // callback hook, not an async one: no promise per vote. A throw here reaches the error handler.
  const voterOnly = {
    config: { rateLimit: false as const },
    onRequest: (req: FastifyRequest, _reply: FastifyReply, done: () => void) => { req.requireUser(); done() },
  }

  app.post('/vote/', {
    ...voterOnly,
    schema: {
      tags: ['votes'],
      operationId: 'castVote',
      summary: 'Rate a content 0..5, or change your rating. Accepted votes reach PostgreSQL shortly after (202).',
      description: 'Requires an access token, checked before the body is read. At most VOTE_THRESHOLD_COUNT_LIMIT votes per content ' +
        'in a window of VOTE_THRESHOLD_PERIOD seconds; the next locks the content for LOCK_DURATION seconds. ' +
        'A 503 means the vote may or may not be in: retrying is safe, a vote sets a score rather than adding one.',
      security: [{ bearer: [] }],
      consumes: BODY_MEDIA_TYPES,
      body: VoteBody,
      response: {
        202: ref(VoteAccepted, 'accepted: the vote is on the stream, not yet in PostgreSQL'),
        ...errors('invalid_request', 'malformed_json', 'not_authenticated', 'token_invalid', 'content_not_found', 'body_too_large',
          'unsupported_media_type', 'content_locked', 'rate_limited', 'internal_error', 'queue_unavailable'),
      },
    },
  }, async (req, reply) => {
    const { content, score } = req.body
    const id = await votes.castVote(req.requireUser(), content, score)
    return reply.code(202).send({ content, score, status: 'accepted' as const, id })
  })

  app.delete('/vote/:content_id/', {
    ...voterOnly,
    schema: {
      tags: ['votes'],
      operationId: 'retractVote',
      summary: 'Take your vote on a content back. Accepted retractions reach PostgreSQL shortly after (202).',
      description: 'Requires an access token. The retraction goes the way a vote goes, in order with your other votes on the ' +
        'content: a vote after it counts again, and a retraction delivered late or twice changes nothing. Once applied, ' +
        'vote_count, average_vote and histogram drop by the retracted score; your reads show user_vote null at once ' +
        '(user_vote_pending true until applied). Retracting when you have no vote is accepted and changes nothing. ' +
        'A retraction counts toward the content\'s burst window and your request limit, and is refused while the content is ' +
        'locked, like a vote: it moves the score as much as a vote does.',
      security: [{ bearer: [] }],
      params: Type.Object({ content_id: Id }, { additionalProperties: false }),
      response: {
        202: ref(VoteRetracted, 'accepted: the retraction is on the stream, not yet in PostgreSQL'),
        ...errors('invalid_request', 'not_authenticated', 'token_invalid', 'content_not_found', 'content_locked', 'rate_limited',
          'internal_error', 'queue_unavailable'),
      },
    },
  }, async (req, reply) => {
    const content = req.params.content_id
    const id = await votes.castVote(req.requireUser(), content, null)
    return reply.code(202).send({ content, score: null, status: 'accepted' as const, id })
  })
}

export default voteRoutes
