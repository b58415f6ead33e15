import { Type, type Static } from '@fastify/type-provider-typebox'
import type { StringOptions } from '@sinclair/typebox'
import { MAX_ID } from '../shared/ids.js'

// PostgreSQL text cannot hold U+0000: a stored string with one is a 400 at the door, not a 500 at the INSERT.
// A lone UTF-16 surrogate (\ud800 with no partner) has no UTF-8 form: it would be stored, or hashed, as
// U+FFFD, so "\ud800" and "\udfff" would become one password. Ajv matches patterns with the u flag, where
// [\ud800-\udfff] matches only unpaired surrogates, so emoji and other astral characters pass.
const WELL_FORMED = '^[^\\ud800-\\udfff]*$'
const STORABLE = '^[^\\u0000\\ud800-\\udfff]*$'
/** A string that is stored in PostgreSQL. Give `pattern` only to narrow it further; it must exclude U+0000 too. */
export const StoredText = (opts: StringOptions = {}) => Type.String({ pattern: STORABLE, ...opts })
/** Stored text with at least one non-space character; linear to match, whatever the input. */
export const NonBlankText = (opts: StringOptions = {}) =>
  StoredText({ ...opts, pattern: '^\\s*[^\\s\\u0000\\ud800-\\udfff][^\\u0000\\ud800-\\udfff]*$' })
/** Text that is only hashed or compared (passwords): any character but an unpaired surrogate. */
export const WellFormedText = (opts: StringOptions = {}) => Type.String({ pattern: WELL_FORMED, ...opts })

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.String({ description: 'stable machine-readable error code' }),
}, { title: 'ErrorReply' })

// Past MAX_ID an id can name no row: a bad request, not a 404.
export const Id = Type.Integer({ minimum: 1, maximum: MAX_ID })
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })

export const ContentItemSchema = Type.Object({
  id: Type.Integer(),
  title: Type.String(),
  description: Type.String(),
  author_id: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  vote_count: Type.Integer(),
  average_vote: Type.Union([Type.Number(), Type.Null()], { description: 'mean of current scores, null without votes' }),
  user_vote: Type.Union([Type.Integer({ minimum: 0, maximum: 5 }), Type.Null()], { description: "the caller's own score; null when anonymous or not voted" }),
  locked_until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'votes are refused until then' }),
}, { title: 'ContentItem' })
export type ContentItem = Static<typeof ContentItemSchema>

export const ContentPageSchema = Type.Object({
  count: Type.Integer({ description: 'exact number of contents (a counter kept by the database, not a COUNT(*))' }),
  next: Type.Union([Type.String(), Type.Null()]),
  previous: Type.Union([Type.String(), Type.Null()]),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  results: Type.Array(ContentItemSchema),
}, { title: 'ContentPage' })
export type ContentPage = Static<typeof ContentPageSchema>

/** The error replies a route can send, keyed by status, so each route lists its own. */
export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorReply]))
