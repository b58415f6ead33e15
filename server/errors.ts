import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { isDbUnavailable, loggableDbError } from '../shared/db/errors.js'

/** An error a handler throws on purpose: its status, stable code and message reach the client as they are. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message)
    this.name = 'AppError'
  }
}

// Every code a client can see. Codes are part of the API: never rename one once shipped.
export const notFound = (what = 'route') => new AppError(404, 'not_found', `${what} not found`)
export const contentNotFound = (id: number) => new AppError(404, 'content_not_found', `content ${id} does not exist`)
export const usernameTaken = () => new AppError(409, 'username_taken', 'a user with that username already exists')
export const invalidCredentials = () => new AppError(401, 'invalid_credentials', 'no active account found with the given credentials')
export const notAuthenticated = () => new AppError(401, 'not_authenticated', 'authentication credentials were not provided')
export const tokenInvalid = (why = 'token is invalid or expired') => new AppError(401, 'token_invalid', why)
export const rateLimited = (seconds: number) =>
  new AppError(429, 'rate_limited', `too many requests, retry in ${seconds}s`, { 'retry-after': String(seconds) })
export const contentLocked = (seconds: number) =>
  new AppError(429, 'content_locked', `content is locked for ${seconds}s`, { 'retry-after': String(seconds) })
export const queueUnavailable = () => new AppError(503, 'queue_unavailable', 'votes cannot be accepted right now, retry shortly')
export const serviceUnavailable = (what: string) => new AppError(503, 'service_unavailable', `${what} is unavailable, retry shortly`)

// Fastify's and its plugins' own errors, mapped to our codes so clients see one vocabulary.
const FRAMEWORK_CODES: Record<string, string> = {
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
  const code = FRAMEWORK_CODES[err.code] ?? (status === 413 ? 'body_too_large' : status === 415 ? 'unsupported_media_type' : 'invalid_request')
  return reply.code(status).send(body(status, code, err.message))
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply) {
  const err = notFound(`route ${req.method} ${req.url.split('?')[0]}`)
  return reply.code(404).send(body(404, err.code, err.message))
}

function body(statusCode: number, code: string, message: string) {
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

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request did not arrive in time'],
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'the request line and headers exceed 16 KiB'],
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (malformed HTTP, headers over 16 KiB, a
 * body that never finishes): the same JSON shape as every other error, then the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'invalid_request', 'malformed HTTP request']
  const payload = JSON.stringify(body(status, code, message))
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n`
      + `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`)
  }
  socket.destroy(err)
}
