import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { contentNotFound, invalidCursor, pageNotFound, pageTooDeep, serviceUnavailable } from '../errors.js'
import { markContentExists, unmarkContent } from '../../shared/content-index.js'
import { ContentItemSchema, ContentPageSchema, type ContentPage, IdParams, NonBlankText, StoredText, errors, ref, type ContentItem } from '../schemas.js'
import { BODY_MEDIA_TYPES } from '../form-body.js'
import { createContentReads, insertContent, type ContentRow, type PageStart } from '../queries/contents.js'
import { lockEnds } from '../queries/locks.js'
import { decodeCursor, encodeCursor } from '../cursor.js'
import { createContentPages, type PageData } from '../content-pages.js'
import { renderEnvelope } from '../content-json.js'
import { announceAllChanged } from '../../shared/read-changes.js'

const DEFAULT_PAGE_SIZE = 50
const MAX_PAGE_SIZE = 100
// How deep page numbers go, in items (page × page_size). An offset page reads every index entry above it
// and most are never cached (few people ask for the same deep page), so one request for page 10,000,000
// cost a near-full scan; cursors (keyset) cost the same at any depth and take over past this.
const MAX_PAGE_ROWS = 10_000

const ContentBody = Type.Object({
  // Not blank: at least one non-space character, as the system we replace required.
  title: NonBlankText({ minLength: 1, maxLength: 255 }),
  description: Type.Optional(StoredText({ maxLength: 10_000 })),
}, { additionalProperties: false })

const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: MAX_PAGE_ROWS,
    description: `page number, default 1. Page numbers reach the first ${MAX_PAGE_ROWS.toLocaleString('en')} items: page × page_size over that ` +
      'is 400 page_too_deep; go deeper with cursors (?cursor= and next_cursor). A page past the end is 404 page_not_found.',
  })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
})

const toItem = (row: ContentRow, locked: Date | null): ContentItem => ({
  id: row.id,
  title: row.title,
  description: row.description,
  author_id: row.author_id,
  created_at: row.created_at,
  vote_count: row.vote_count,
  average_vote: row.average_vote,
  user_vote: row.user_vote,
  locked_until: locked === null ? null : locked.toISOString(),
})

/**
 * The absolute URL of this list without its query, which links back to it like the system we replace
 * did: the path also when the request line carried an absolute URL ("GET http://host/api/contents/ HTTP/1.1").
 */
function listBase(req: FastifyRequest): string {
  const path = new URL(req.url, 'http://localhost').pathname
  return `${req.protocol}://${req.host}${path}`
}
const listLink = (base: string, params: Record<string, string | number>) =>
  `${base}?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`

const contentRoutes: FastifyPluginAsyncTypebox<{ readCacheMs: number }> = async (app, opts) => {
  const reads = createContentReads(app.db)
  const pages = createContentPages({ db: app.db, reads, redis: app.redis, keys: app.keys, readState: app.readState, readCacheMs: opts.readCacheMs })

  app.post('/contents/', {
    schema: {
      tags: ['contents'],
      operationId: 'createContent',
      summary: 'Create a content item (anonymous allowed; the author is recorded when a valid token comes along)',
      description: 'The new id must reach Redis\' content index before the insert commits: with Redis unreachable the insert is rolled back (503).',
      consumes: BODY_MEDIA_TYPES,
      body: ContentBody,
      response: {
        201: ref(ContentItemSchema, 'the content item, created: no votes yet, not locked'),
        ...errors('invalid_request', 'malformed_json', 'body_too_large', 'unsupported_media_type', 'rate_limited', 'internal_error', 'service_unavailable'),
      },
    },
  }, async (req, reply) => {
    const input = { title: req.body.title, description: req.body.description ?? '', authorId: req.optionalUser() }
    let marked: number | undefined
    let row: ContentRow
    try {
      row = await insertContent(app.db, input, async (id) => {
        marked = id
        try {
          await markContentExists(app.redis, app.keys, id)
        } catch {
          throw serviceUnavailable('redis')
        }
      })
    } catch (err) {
      // Rolled back, but its bit may be set: a SETBIT that timed out against a hung Redis still runs when
      // Redis wakes, and a failed COMMIT follows a SETBIT that worked. Clearing it queues behind the SETBIT
      // on the same connection; ids are never handed out twice, so no other content loses its bit.
      if (marked !== undefined) void unmarkContent(app.redis, app.keys, marked).catch(() => {})
      throw err
    }
    // After COMMIT. This process forgets its pages at once, so the creator's next list shows the item;
    // the others forget theirs when the announcement reaches them (well under a millisecond on a LAN).
    // Should Redis fail just now, their cached pages miss the item for at most READ_CACHE_MS.
    app.readState.allChanged()
    await announceAllChanged(app.redis, app.keys.readChanges).catch((err: Error) => req.log.warn({ err: err.message }, 'new content not announced'))
    return reply.code(201).send(toItem(row, null))
  })

  app.get('/contents/', {
    schema: {
      tags: ['contents'],
      operationId: 'listContents',
      summary: 'List contents, newest first: page numbers (?page=) or keyset cursors (?cursor=, fast at any depth)',
      description: 'With a cursor, page is ignored and next/previous are cursor links. A page past the end is 404; ' +
        `page × page_size over ${MAX_PAGE_ROWS} is 400 page_too_deep (cursors go deeper); ` +
        'the first page of an empty list is a 200 with no results. Pages may be served from memory for up to READ_CACHE_MS.',
      querystring: ListQuery,
      response: {
        200: ref(ContentPageSchema, 'one page of content items, with links to its neighbours'),
        ...errors('invalid_request', 'invalid_cursor', 'page_too_deep', 'page_not_found', 'rate_limited', 'internal_error', 'service_unavailable'),
      },
    },
  }, async (req, reply) => {
    const size = req.query.page_size ?? DEFAULT_PAGE_SIZE
    const cursor = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor)
    if (cursor === null) throw invalidCursor()
    const page = req.query.page ?? 1
    if (cursor === undefined && page * size > MAX_PAGE_ROWS) throw pageTooDeep(page, size, MAX_PAGE_ROWS)
    const start: PageStart = cursor ?? { offset: (page - 1) * size }
    const base = listBase(req)
    const envelope = ({ rows, hasMore, count }: PageData) => {
      if (cursor === undefined && page > 1 && rows.length === 0) throw pageNotFound()
      const first = rows[0]
      const last = rows[rows.length - 1]
      // Walking backwards (afterId), hasMore means newer rows exist; every other walk means older ones.
      const hasOlder = 'afterId' in start ? last !== undefined : hasMore
      const hasNewer = 'afterId' in start ? hasMore : 'beforeId' in start ? first !== undefined : page > 1
      const nextCursor = hasOlder && last ? encodeCursor({ beforeId: last.id }) : null
      let next: string | null = null
      let previous: string | null = null
      if (cursor === undefined) {
        if (hasOlder) next = listLink(base, { page: page + 1, page_size: size })
        if (page > 1) previous = listLink(base, page === 2 ? { page_size: size } : { page: page - 1, page_size: size })
      } else {
        if (nextCursor) next = listLink(base, { cursor: nextCursor, page_size: size })
        if (hasNewer && first) previous = listLink(base, { cursor: encodeCursor({ afterId: first.id }), page_size: size })
      }
      return renderEnvelope({ count, next, previous, next_cursor: nextCursor })
    }
    // Rendered JSON (server/content-json.ts), sent as it is: the response schema documents it.
    const body = await pages.list(start, size, req.optionalUser(), envelope, base)
    return reply.type('application/json; charset=utf-8').send(body as unknown as ContentPage)
  })

  app.get('/contents/:id/', {
    schema: {
      tags: ['contents'],
      operationId: 'getContent',
      summary: 'One content item, with the caller\'s own score when a valid token comes along',
      description: 'vote_count, average_vote and user_vote show the votes the consumers have applied: a vote answered 202 shows here shortly after.',
      params: IdParams,
      response: {
        200: ref(ContentItemSchema, 'the content item'),
        ...errors('invalid_request', 'content_not_found', 'rate_limited', 'internal_error', 'service_unavailable'),
      },
    },
  }, async (req) => {
    const row = await reads.findContent(req.params.id, req.optionalUser())
    if (!row) throw contentNotFound(req.params.id)
    const [until = null] = await lockEnds(app.readState, app.redis, app.keys, [row.id])
    return toItem(row, until === null ? null : new Date(until))
  })
}

export default contentRoutes
