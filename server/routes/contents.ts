import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { contentNotFound } from '../errors.js'
import { ContentItemSchema, IdParams, NonBlankText, StoredText, errors, ref } from '../schemas.js'
import { BODY_MEDIA_TYPES } from '../form-body.js'
import { renderedPageReply } from '../reads/content-json.js'
import { ListQuerySchema, MAX_PAGE_ROWS } from '../reads/list-request.js'

const ContentBody = Type.Object({
  // Not blank: at least one non-space character, as the system we replace required.
  title: NonBlankText({ minLength: 1, maxLength: 255 }),
  description: Type.Optional(StoredText({ maxLength: 10_000 })),
}, { additionalProperties: false })

/**
 * The absolute URL of this list without its query, which links back to it like the system we replace
 * did: the path also when the request line carried an absolute URL ("GET http://host/api/contents/ HTTP/1.1").
 */
function listBase(req: FastifyRequest): string {
  const path = new URL(req.url, 'http://localhost').pathname
  return `${req.protocol}://${req.host}${path}`
}

/** Contents: the routes ask the reads plugin (server/reads/) for each reply body. */
const contentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/contents/', {
    schema: {
      tags: ['contents'],
      operationId: 'createContent',
      summary: 'Create a content item (anonymous allowed; the author is recorded when a valid token comes along)',
      description: 'The new id must reach Redis\' content index before the insert commits: ' +
        'with Redis unreachable the insert is rolled back (503).',
      consumes: BODY_MEDIA_TYPES,
      body: ContentBody,
      response: {
        201: ref(ContentItemSchema, 'the content item, created: no votes yet, not locked'),
        ...errors('invalid_request', 'malformed_json', 'body_too_large', 'unsupported_media_type', 'rate_limited',
          'internal_error', 'service_unavailable'),
      },
    },
  }, async (req, reply) => {
    const input = { title: req.body.title, description: req.body.description ?? '', authorId: req.optionalUser() }
    return reply.code(201).send(await app.reads.createContent(input, req.log))
  })

  app.get('/contents/', {
    schema: {
      tags: ['contents'],
      operationId: 'listContents',
      summary: 'List contents, newest first or by a ranking (?ordering=), by page numbers (?page=) or keyset cursors (?cursor=)',
      description: 'With a cursor, page is ignored and next/previous are cursor links. A page past the end is 404; ' +
        `page × page_size over ${MAX_PAGE_ROWS} is 400 page_too_deep (cursors go deeper); ` +
        'the first page of an empty list is a 200 with no results. Pages may be served from memory for up to READ_CACHE_MS.',
      querystring: ListQuerySchema,
      response: {
        // Rendered JSON (server/reads/content-json.ts), sent as it is: the schema documents it.
        200: renderedPageReply('one page of content items, with links to its neighbours'),
        ...errors('invalid_request', 'invalid_ordering', 'invalid_cursor', 'page_too_deep', 'page_not_found', 'rate_limited',
          'internal_error', 'service_unavailable'),
      },
    },
  }, async (req, reply) => {
    const body = await app.reads.listPage(req.query, listBase(req), req.optionalUser())
    return reply.type('application/json; charset=utf-8').send(body)
  })

  app.get('/contents/:id/', {
    schema: {
      tags: ['contents'],
      operationId: 'getContent',
      summary: 'One content item, with the caller\'s own score when a valid token comes along',
      description: 'vote_count, average_vote and user_vote show the votes the consumers have applied: ' +
        'a vote answered 202 shows here shortly after.',
      params: IdParams,
      response: {
        200: ref(ContentItemSchema, 'the content item'),
        ...errors('invalid_request', 'content_not_found', 'rate_limited', 'internal_error', 'service_unavailable'),
      },
    },
  }, async (req) => {
    const item = await app.reads.content(req.params.id, req.optionalUser())
    if (!item) throw contentNotFound(req.params.id)
    return item
  })
}

export default contentRoutes
