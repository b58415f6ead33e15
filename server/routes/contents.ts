import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { AppError, contentNotFound, serviceUnavailable } from '../errors.js'
import { markContentExists } from '../../shared/content-index.js'
import { ContentItemSchema, ContentPageSchema, IdParams, NonBlankText, StoredText, errors, type ContentItem } from '../schemas.js'
import { countContents, findContent, insertContent, listContents, userVotes, type ContentRow, type PageStart } from '../queries/contents.js'
import { readPageState } from '../queries/locks.js'
import { decodeCursor, encodeCursor } from '../cursor.js'
import { createPageCache } from '../page-cache.js'
import { bumpReadGeneration, currentReadGeneration } from '../../shared/read-generation.js'

const DEFAULT_PAGE_SIZE = 50
const MAX_PAGE_SIZE = 100
// Pages kept per process: page numbers and cursors people actually follow (the first pages) repeat.
const CACHED_PAGES = 500

const ContentBody = Type.Object({
  // Not blank: at least one non-space character, as the system we replace required.
  title: NonBlankText({ minLength: 1, maxLength: 255 }),
  description: Type.Optional(StoredText({ maxLength: 10_000 })),
}, { additionalProperties: false })

const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
})

const pageNotFound = () => new AppError(404, 'page_not_found', 'invalid page: past the last page')
const invalidCursor = () => new AppError(400, 'invalid_cursor', 'cursor is malformed; use the one from next or previous')

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

/** An absolute link back to this list with `params`, like the system we replace returned. */
function listLink(req: FastifyRequest, params: Record<string, string | number>): string {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))
  return `${req.protocol}://${req.host}${req.url.split('?')[0]}?${query}`
}

type ListedPage = { rows: ContentRow[]; hasMore: boolean; count: number }
const pageKey = (start: PageStart, size: number) =>
  `${'beforeId' in start ? `b${start.beforeId}` : 'afterId' in start ? `a${start.afterId}` : `o${start.offset}`}:${size}`

const contentRoutes: FastifyPluginAsyncTypebox<{ readCacheMs: number }> = async (app, opts) => {
  const pages = createPageCache<ListedPage>({ maxEntries: CACHED_PAGES, maxAgeMs: opts.readCacheMs })
  const generationKey = app.keys.readGeneration
  const withLocks = (rows: ContentRow[], until: (Date | null)[]) => rows.map((row, i) => toItem(row, until[i] ?? null))

  /**
   * One page with its locks. From the cache when the read generation it was stored under is still
   * current (one MGET, no PostgreSQL); else from PostgreSQL, stored under the generation read before
   * the query. Cached rows carry no user_vote: a caller's own scores are looked up per request.
   */
  async function listPage(start: PageStart, size: number, userId: number | null) {
    const key = pageKey(start, size)
    const cached = pages.get(key)
    let generation: string | null | undefined
    if (cached) {
      const state = await readPageState(app.redis, app.keys, cached.value.rows.map((r) => r.id))
      if (state.generation !== null && state.generation === cached.generation) {
        const mine = userId === null ? undefined : await userVotes(app.db, userId, cached.value.rows.map((r) => r.id))
        const rows = mine ? cached.value.rows.map((r) => ({ ...r, user_vote: mine.get(r.id) ?? null })) : cached.value.rows
        return { ...cached.value, rows, until: state.until }
      }
      generation = state.generation
    }
    generation ??= await currentReadGeneration(app.redis, generationKey)
    // Two queries on two pooled connections at once: the page (with the caller's scores) and the exact count.
    const [{ rows, hasMore }, count] = await Promise.all([listContents(app.db, start, size, userId), countContents(app.db)])
    if (generation !== null) {
      pages.set(key, generation, { rows: userId === null ? rows : rows.map((r) => ({ ...r, user_vote: null })), hasMore, count })
    }
    const { until } = await readPageState(app.redis, app.keys, rows.map((r) => r.id))
    return { rows, hasMore, count, until }
  }

  app.post('/contents/', {
    schema: {
      tags: ['contents'],
      summary: 'Create a content item (anonymous allowed; the author is recorded when a valid token comes along)',
      body: ContentBody,
      response: { 201: ContentItemSchema, ...errors(400, 413, 415, 429, 503) },
    },
  }, async (req, reply) => {
    const input = { title: req.body.title, description: req.body.description ?? '', authorId: req.optionalUser() }
    const row = await insertContent(app.db, input, async (id) => {
      try {
        await markContentExists(app.redis, app.keys, id)
      } catch {
        throw serviceUnavailable('redis')
      }
    })
    // After COMMIT, so no reader can cache a page without the new item under the new generation.
    // Should Redis fail just now, cached pages miss the item for at most READ_CACHE_MS.
    await bumpReadGeneration(app.redis, generationKey).catch((err: Error) => req.log.warn({ err: err.message }, 'read generation not bumped'))
    return reply.code(201).send(toItem(row, null))
  })

  app.get('/contents/', {
    schema: {
      tags: ['contents'],
      summary: 'List contents, newest first: page numbers (?page=) or keyset cursors (?cursor=, fast at any depth)',
      querystring: ListQuery,
      response: { 200: ContentPageSchema, ...errors(400, 404, 429) },
    },
  }, async (req) => {
    const size = req.query.page_size ?? DEFAULT_PAGE_SIZE
    const userId = req.optionalUser()
    const cursor = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor)
    if (cursor === null) throw invalidCursor()
    const page = req.query.page ?? 1
    const start: PageStart = cursor ?? { offset: (page - 1) * size }
    const { rows, hasMore, count, until } = await listPage(start, size, userId)
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
      if (hasOlder) next = listLink(req, { page: page + 1, page_size: size })
      if (page > 1) previous = listLink(req, page === 2 ? { page_size: size } : { page: page - 1, page_size: size })
    } else {
      if (nextCursor) next = listLink(req, { cursor: nextCursor, page_size: size })
      if (hasNewer && first) previous = listLink(req, { cursor: encodeCursor({ afterId: first.id }), page_size: size })
    }
    return { count, next, previous, next_cursor: nextCursor, results: withLocks(rows, until) }
  })

  app.get('/contents/:id/', {
    schema: {
      tags: ['contents'],
      summary: 'One content item, with the caller\'s own score when a valid token comes along',
      params: IdParams,
      response: { 200: ContentItemSchema, ...errors(400, 404, 429) },
    },
  }, async (req) => {
    const row = await findContent(app.db, req.params.id, req.optionalUser())
    if (!row) throw contentNotFound(req.params.id)
    const { until } = await readPageState(app.redis, app.keys, [row.id])
    return toItem(row, until[0] ?? null)
  })
}

export default contentRoutes
