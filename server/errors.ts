import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { isDbUnavailable, loggableDbError } from '../shared/db/errors.js'

/**
 * Every code a client can see, with its status and meaning. Codes are part of the API: never rename one
 * once shipped. The OpenAPI document lists each route's codes from here (`errors` in server/schemas.ts),
 * so meanings are Markdown, as Swagger UI renders them; errors.test.ts holds docs/api.md's error table to
 * this one. `retryAfter` says when the reply carries Retry-After.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, meaning: 'validation failed, or a malformed URL, `Content-Length` or HTTP request' },
  malformed_json: { status: 400, meaning: 'the body is not valid JSON, or is empty with `content-type: application/json`' },
  invalid_cursor: { status: 400, meaning: '`cursor` was not made by this API, or was made for another `ordering`' },
  invalid_ordering: { status: 400, meaning: '`ordering` is not one the list offers' },
  page_too_deep: {
    status: 400,
    meaning: '`page` × `page_size` over 10,000: page numbers reach the first 10,000 items; walk on with `next_cursor`',
  },
  not_authenticated: { status: 401, meaning: '`POST /api/vote/` without an `Authorization` header' },
  token_invalid: { status: 401, meaning: 'a malformed, forged, expired or wrong-kind token, or not `Bearer <token>`' },
  invalid_credentials: { status: 401, meaning: 'log-in with an unknown username or a wrong password' },
  not_found: { status: 404, meaning: 'no such route (any method and path without a handler)' },
  content_not_found: { status: 404, meaning: 'the id names no content (detail or vote)' },
  page_not_found: { status: 404, meaning: '`page` is past the last page' },
  request_timeout: { status: 408, meaning: 'the request did not arrive in time; the connection is closed' },
  username_taken: { status: 409, meaning: 'the username, after normalisation, belongs to an account' },
  body_too_large: {
    status: 413,
    meaning: 'the body exceeds the route\'s limit, named in the message: 16 KiB, or more where the route\'s longest fields need it',
  },
  unsupported_media_type: { status: 415, meaning: 'a body neither JSON nor `application/x-www-form-urlencoded`' },
  rate_limited: {
    status: 429,
    meaning: 'too many requests from this user or client network, or failed log-ins of this account',
    retryAfter: 'when the caller\'s window ends',
  },
  content_locked: { status: 429, meaning: 'the content is locked after a burst of votes', retryAfter: 'when the content\'s lock ends' },
  headers_too_large: { status: 431, meaning: 'the request line and headers exceed 16 KiB; the connection is closed' },
  internal_error: { status: 500, meaning: 'anything unexpected; logged with the request id, the message hidden' },
  queue_unavailable: { status: 503, meaning: 'a vote could not be queued: it may or may not be on the stream; retrying is safe' },
  service_unavailable: {
    status: 503,
    meaning: 'PostgreSQL unreachable; or Redis, for content creation',
    retryAfter: '`1` when PostgreSQL is unreachable; none otherwise',
  },
} as const satisfies Record<string, { status: number; meaning: string; retryAfter?: string }>
export type ErrorCode = keyof typeof ERROR_CODES

/**
 * An error a handler throws on purpose: its status, stable code and message reach the client as they are.
 * Typed by its code, so a table of errors (server/vote-service.ts) can require each entry's code.
 */
export class AppError<Code extends ErrorCode = ErrorCode> extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: Code,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {}
  ) {
    super(message)
    this.name = 'AppError'
  }
}

// The status comes from the table, so a code can never be sent with another one.
const fail = <Code extends ErrorCode>(code: Code, message: string, headers?: Record<string, string>) =>
  new AppError(ERROR_CODES[code].status, code, message, headers)

export const notFound = (what = 'route') => fail('not_found', `${what} not found`)
export const contentNotFound = (id: number) => fail('content_not_found', `content ${id} does not exist`)
export const pageNotFound = () => fail('page_not_found', 'invalid page: past the last page')
export const pageTooDeep = (page: number, size: number, maxRows: number) => fail('page_too_deep',
  `page ${page} with page_size ${size} ends past item ${maxRows}: page numbers reach the first ${maxRows} items; ` +
  'go deeper with ?cursor= and the next_cursor of an earlier page')
export const bodyTooLarge = (limitBytes: number) => fail('body_too_large', `body exceeds this route's limit of ${limitBytes} bytes`)
export const invalidCursor = () =>
  fail('invalid_cursor', 'cursor is malformed or belongs to another ordering; use the one from next or previous')
export const invalidOrdering = (given: string, choices: readonly string[]) =>
  fail('invalid_ordering', `ordering ${JSON.stringify(given.slice(0, 64))} is not one of ${choices.join(', ')}`)
export const usernameTaken = () => fail('username_taken', 'a user with that username already exists')
export const invalidCredentials = () => fail('invalid_credentials', 'no active account found with the given credentials')
export const notAuthenticated = () => fail('not_authenticated', 'authentication credentials were not provided')
export const tokenInvalid = (why = 'token is invalid or expired') => fail('token_invalid', why)
export const rateLimited = (seconds: number) =>
  fail('rate_limited', `too many requests, retry in ${seconds}s`, { 'retry-after': String(seconds) })
export const contentLocked = (seconds: number) =>
  fail('content_locked', `content is locked for ${seconds}s`, { 'retry-after': String(seconds) })
export const queueUnavailable = () => fail('queue_unavailable', 'votes cannot be accepted right now, retry shortly')
export const serviceUnavailable = (what: string) => fail('service_unavailable', `${what} is unavailable, retry shortly`)

// Fastify's and its plugins' own errors, mapped to our codes so clients see one vocabulary.
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_VALIDATION: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'invalid_request',
  FST_ERR_MAX_PARAM_LENGTH: 'invalid_request',
  FST_ERR_ASYNC_CONSTRAINT: 'invalid_request',
}

export function errorHandler(this: unknown, err: FastifyError | AppError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof AppError) {
    reply.headers(err.headers)
    return reply.code(err.statusCode).send(body(err.statusCode, err.code, err.message))
  }
  const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
  if (status >= 500 && isDbUnavailable(err)) {
    req.log.warn({ err: loggableDbError(err) }, 'postgresql unavailable')
    reply.header('retry-after', '1')
    return reply.code(503).send(body(503, 'service_unavailable', 'postgresql is unavailable, retry shortly'))
  }
  if (status >= 500) {
    req.log.error({ err: loggableDbError(err) }, 'request failed')
    return reply.code(status).send(body(status, 'internal_error', 'internal server error'))
  }
  // Malformed JSON from a client is expected; it is not worth more than a debug line.
  req.log.debug({ err }, 'request rejected')
  const code = FRAMEWORK_CODES[err.code] ??
    (status === 413 ? 'body_too_large' : status === 415 ? 'unsupported_media_type' : 'invalid_request')
  // Fastify's own text names no number; the limit differs per route (server/body-limit.ts), so say it.
  const message = code === 'body_too_large' ? bodyTooLarge(req.routeOptions.bodyLimit).message : err.message
  return reply.code(status).send(body(status, code, message))
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply) {
  const err = notFound(`route ${req.method} ${req.url.split('?')[0]}`)
  return reply.code(404).send(body(404, err.code, err.message))
}

function body(statusCode: number, code: ErrorCode, message: string) {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, code }
}

/**
 * Errors the router raises before any route runs (a path that is not valid percent-encoding, a path
 * parameter over its length limit): answered in the one shape, as 400 invalid_request. An id too long
 * to be an id is a bad request like any other bad id, not Fastify's 414.
 */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  reply.header('x-request-id', req.id)
  return reply.code(400).send(body(400, FRAMEWORK_CODES[err.code] ?? 'invalid_request', err.message))
}

const CLIENT_ERRORS: Record<string, [ErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'the request did not arrive in time'],
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'the request line and headers exceed 16 KiB'],
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (malformed HTTP, headers over 16 KiB, a
 * body that never finishes): the same JSON shape as every other error, then the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [code, message] = CLIENT_ERRORS[err.code ?? ''] ?? ['invalid_request', 'malformed HTTP request']
  const status = ERROR_CODES[code].status
  const payload = JSON.stringify(body(status, code, message))
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`)
  }
  socket.destroy(err)
}
