import { Type, type Static } from '@fastify/type-provider-typebox'
import { invalidCursor, pageNotFound, pageTooDeep } from '../errors.js'
import { decodeCursor, encodeCursor, type Cursor } from './cursor.js'
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
})
export type ListQuery = Static<typeof ListQuerySchema>

/** One list request, checked: where its page starts, and what its links are made from. */
export interface ListRequest {
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

/** The request a query asks for; throws invalid_cursor, or page_too_deep past MAX_PAGE_ROWS. */
export function listRequest(query: ListQuery, base: string): ListRequest {
  const size = query.page_size ?? DEFAULT_PAGE_SIZE
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
  if (cursor === null) throw invalidCursor()
  const page = query.page ?? 1
  if (cursor === undefined && page * size > MAX_PAGE_ROWS) throw pageTooDeep(page, size, MAX_PAGE_ROWS)
  return { start: cursor ?? { offset: (page - 1) * size }, size, page, cursor, base }
}

const listLink = (base: string, params: Record<string, string | number>) =>
  `${base}?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`

/** What surrounds the page's items: count and links to its neighbours; throws page_not_found past the last page. */
export function listEnvelope({ start, size, page, cursor, base }: ListRequest, { rows, hasMore, count }: PageData): Envelope {
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
