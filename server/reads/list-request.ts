import { Type, type Static } from '@fastify/type-provider-typebox'
import { invalidCursor, invalidOrdering, pageNotFound, pageTooDeep } from '../errors.js'
import { decodeCursor, encodeCursor, type Cursor } from './cursor.js'
import { DEFAULT_ORDERING, ORDERING_NAMES, ORDERINGS, isOrdering, type Ordering } from './orderings.js'
import { renderEnvelope, type Envelope } from './content-json.js'
import type { ContentRow, PageStart } from './content-queries.js'

const DEFAULT_PAGE_SIZE = 50
const MAX_PAGE_SIZE = 100
// How deep page numbers go, in items (page × page_size). An offset page reads every index entry above it
// and most are never cached (few people ask for the same deep page), so one request for page 10,000,000
// cost a near-full scan; cursors (keyset) cost the same at any depth and take over past this.
export const MAX_PAGE_ROWS = 10_000

/** The list's query string, as the route validates it. */
export const ListQuerySchema = Type.Object({
  page: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: MAX_PAGE_ROWS,
    description: `page number, default 1. Page numbers reach the first ${MAX_PAGE_ROWS.toLocaleString('en')} items: ` +
      'page × page_size over that is 400 page_too_deep; go deeper with cursors (?cursor= and next_cursor). ' +
      'A page past the end is 404 page_not_found.',
  })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  // A string checked by listRequest, not an enum: an unknown ordering is 400 invalid_ordering, naming the choices.
  ordering: Type.Optional(Type.String({
    maxLength: 64,
    description: `the order of the list: ${ORDERING_NAMES.map((o) => `\`${o}\``).join(', ')} ` +
      `(default \`${DEFAULT_ORDERING}\`, newest first). Rankings sort by the scores as of the last re-rank (at most ` +
      'about RANKING_REFRESH_MS old), ties by id, newest first; anything else is 400 invalid_ordering. A cursor belongs to ' +
      'its ordering.',
    examples: ['-bayesian_average'],
  })),
})
export type ListQuery = Static<typeof ListQuerySchema>

/** One list request, checked: where its page starts, and what its links are made from. */
export interface ListRequest {
  ordering: Ordering
  start: PageStart
  size: number
  /** The page number (default 1); a cursor, when given, ignores it. */
  page: number
  cursor: Cursor | undefined
  /** The list's absolute URL without its query (its links name the host the caller used). */
  base: string
}

/** What a page's envelope is rendered from, beside the request. */
export interface PageData { rows: readonly ContentRow[]; hasMore: boolean; count: number }

/**
 * The request a query asks for; throws invalid_ordering, invalid_cursor (also a cursor of another ordering), or
 * page_too_deep past MAX_PAGE_ROWS.
 */
export function listRequest(query: ListQuery, base: string): ListRequest {
  const ordering = query.ordering ?? DEFAULT_ORDERING
  if (!isOrdering(ordering)) throw invalidOrdering(ordering, ORDERING_NAMES)
  const size = query.page_size ?? DEFAULT_PAGE_SIZE
  const decoded = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
  if (decoded === null || (decoded !== undefined && decoded.ordering !== ordering)) throw invalidCursor()
  const cursor = decoded?.cursor
  const page = query.page ?? 1
  if (cursor === undefined && page * size > MAX_PAGE_ROWS) throw pageTooDeep(page, size, MAX_PAGE_ROWS)
  return { ordering, start: cursor ?? { offset: (page - 1) * size }, size, page, cursor, base }
}

const listLink = (base: string, ordering: Ordering, params: Record<string, string | number>) => {
  const all = ordering === DEFAULT_ORDERING ? params : { ordering, ...params }
  return `${base}?${new URLSearchParams(Object.entries(all).map(([k, v]) => [k, String(v)]))}`
}

/** The cursor just past `row` in `ordering`, in the given direction. */
const cursorAt = (ordering: Ordering, row: ContentRow, direction: 'before' | 'after') => {
  const key = ORDERINGS[ordering].column === null ? undefined : row.sort_key
  const place = direction === 'before' ? { beforeId: row.id } : { afterId: row.id }
  return encodeCursor(key === undefined ? place : { ...place, key }, ordering)
}

/** What surrounds the page's items: count and links to its neighbours; throws page_not_found past the last page. */
export function listEnvelope({ ordering, start, size, page, cursor, base }: ListRequest, { rows, hasMore, count }: PageData): Envelope {
  if (cursor === undefined && page > 1 && rows.length === 0) throw pageNotFound()
  const first = rows[0]
  const last = rows[rows.length - 1]
  // Walking backwards (afterId), hasMore means newer rows exist; every other walk means older ones.
  const hasOlder = 'afterId' in start ? last !== undefined : hasMore
  const hasNewer = 'afterId' in start ? hasMore : 'beforeId' in start ? first !== undefined : page > 1
  const nextCursor = hasOlder && last ? cursorAt(ordering, last, 'before') : null
  let next: string | null = null
  let previous: string | null = null
  if (cursor === undefined) {
    if (hasOlder) next = listLink(base, ordering, { page: page + 1, page_size: size })
    if (page > 1) previous = listLink(base, ordering, page === 2 ? { page_size: size } : { page: page - 1, page_size: size })
  } else {
    if (nextCursor) next = listLink(base, ordering, { cursor: nextCursor, page_size: size })
    if (hasNewer && first) previous = listLink(base, ordering, { cursor: cursorAt(ordering, first, 'after'), page_size: size })
  }
  return renderEnvelope({ count, next, previous, next_cursor: nextCursor })
}
