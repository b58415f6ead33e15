import { Type, type Static, type TSchema } from '@fastify/type-provider-typebox'
import type { StringOptions } from '@sinclair/typebox'
import { ERROR_CODES, type ErrorCode } from './errors.js'
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

// Reply shapes are named components: each has an $id, is registered once (server/plugins/docs.ts) and is
// referenced by the routes with ref(), so /docs/json lists it under components.schemas and the serializer
// compiles the same shape it always did.
/** A reference to a named component, typed as it; `description` says what this reply means. */
export function ref<T extends TSchema>(schema: T, description?: string) {
  if (schema.$id === undefined) throw new Error('ref() takes a schema with an $id')
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id, description === undefined ? {} : { description }))
}

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.String({ description: 'stable machine-readable error code' }),
}, { $id: 'ErrorReply', title: 'ErrorReply', description: 'the one shape of every error the application produces' })

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
  histogram: Type.Array(Type.Integer({ minimum: 0 }), {
    minItems: 6, maxItems: 6, description: 'how many current votes give each score: [score 0, score 1, …, score 5]; sums to vote_count',
  }),
  bayesian_average: Type.Number({
    description: 'the mean pulled towards the mean C of every vote by m imagined votes: (m·C + sum) / (m + count). ' +
      'For "top rated" lists: one 5 does not outrank ten votes averaging 4.8. C is refreshed on a schedule (docs/api.md, Rankings)',
  }),
  rating_lower_bound: Type.Number({
    description: 'Evan Miller\'s lower bound of the mean over the six scores (z = RANKING_LOWER_BOUND_Z): the score the content ' +
      'has with confidence; rises with agreement and with the number of votes',
  }),
  user_vote: Type.Union([Type.Integer({ minimum: 0, maximum: 5 }), Type.Null()], {
    description: "the caller's own score; null when anonymous, not voted, or taken back. Includes a vote still on its way " +
      '(see user_vote_pending)',
  }),
  user_vote_pending: Type.Boolean({
    description: 'true while the caller\'s latest vote (or its retraction) on this content was accepted (202) and is not applied ' +
      'yet: user_vote shows it already, vote_count, average_vote and histogram not yet. Always false for anonymous callers',
  }),
  locked_until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'votes are refused until then' }),
}, { $id: 'ContentItem', title: 'ContentItem' })
export type ContentItem = Static<typeof ContentItemSchema>

export const ContentPageSchema = Type.Object({
  count: Type.Integer({ description: 'exact number of contents (a counter kept by the database, not a COUNT(*))' }),
  next: Type.Union([Type.String(), Type.Null()]),
  previous: Type.Union([Type.String(), Type.Null()]),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  results: Type.Array(ref(ContentItemSchema)),
}, { $id: 'ContentPage', title: 'ContentPage' })
export type ContentPage = Static<typeof ContentPageSchema>

export const Account = Type.Object({ id: Type.Integer(), username: Type.String() }, { $id: 'Account', title: 'Account' })
export const TokenPair = Type.Object({ access: Type.String(), refresh: Type.String() }, { $id: 'TokenPair', title: 'TokenPair' })
export const AccessToken = Type.Object({
  access: Type.String(),
  refresh: Type.Optional(Type.String({
    description: 'only when a refresh token of the Django service was traded: the tally refresh token to use from now on',
  })),
}, { $id: 'AccessToken', title: 'AccessToken' })

export const VoteAccepted = Type.Object({
  content: Type.Integer(),
  score: Type.Integer(),
  status: Type.Literal('accepted'),
  id: Type.String({
    description: 'the vote\'s receipt, unique across the service and opaque to clients: `<shard tag>:<stream entry id>`, ' +
      'the entry that holds the vote in the stream `<REDIS_PREFIX>votes:{<shard tag>}`',
    example: '0:1795582396825-0',
  }),
}, { $id: 'VoteAccepted', title: 'VoteAccepted' })

export const VoteRetracted = Type.Object({
  content: Type.Integer(),
  score: Type.Null({ description: 'no score: the vote is taken back' }),
  status: Type.Literal('accepted'),
  id: Type.String({ description: 'the retraction\'s receipt, as a vote\'s (VoteAccepted.id)', example: '0:1795582396825-1' }),
}, { $id: 'VoteRetracted', title: 'VoteRetracted' })

const Check = Type.Union([Type.Literal('ok'), Type.Literal('down')])
export const Liveness = Type.Object({ status: Type.Literal('ok') }, { $id: 'Liveness', title: 'Liveness' })
export const Readiness = Type.Object({ status: Check, postgres: Check, redis: Check }, { $id: 'Readiness', title: 'Readiness' })

/** Every named component, in the order /docs/json lists them. */
export const COMPONENTS: readonly TSchema[] = [
  ErrorReply, ContentItemSchema, ContentPageSchema, Account, TokenPair, AccessToken, VoteAccepted, VoteRetracted, Liveness, Readiness,
]

const RETRY_AFTER = Type.Integer({ minimum: 1 })

/**
 * The error replies a route can send, from the codes it can answer: grouped by their status in
 * ERROR_CODES (server/errors.ts), each status described by its codes and what they mean, so the
 * document cannot drift from the table. 429 and 503 declare Retry-After, saying when it is sent.
 */
export function errors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    if (!codes.includes(code)) continue
    const status = ERROR_CODES[code].status
    byStatus.set(status, [...byStatus.get(status) ?? [], code])
  }
  return Object.fromEntries([...byStatus].map(([status, list]) => {
    const reply = ref(ErrorReply, list.map((code) => `- \`${code}\`: ${ERROR_CODES[code].meaning}`).join('\n'))
    if (status !== 429 && status !== 503) return [status, reply]
    const sent = list.flatMap((code) => {
      const info = ERROR_CODES[code]
      return 'retryAfter' in info ? [`with \`${code}\`: ${info.retryAfter}`] : []
    })
    const description = 'seconds to wait before retrying; ' +
      `${sent.length > 0 ? sent.join('; ') : `not sent with ${list.map((c) => `\`${c}\``).join(', ')}: retry after a short back-off`}`
    return [status, { ...reply, headers: { 'Retry-After': { ...RETRY_AFTER, description } } }]
  }))
}
