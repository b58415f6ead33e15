/**
 * The PostgreSQL SQLSTATE of a failed query. drizzle wraps driver errors (DrizzleQueryError, whose
 * message also lists the query's parameters), so the code sits on `cause`; postgres.js puts it on the error.
 */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  }
  return undefined
}

/** What of a query error may be logged: the driver's error and the SQL text, never the parameters (hashes, tokens). */
export function loggableDbError(err: unknown): unknown {
  const wrapped = err as { query?: unknown; params?: unknown; cause?: unknown }
  if (!(err instanceof Error) || wrapped.params === undefined || !(wrapped.cause instanceof Error)) return err
  const cause = wrapped.cause as Error & { code?: string }
  return { type: cause.name, message: cause.message, code: cause.code, stack: cause.stack, query: wrapped.query }
}

export const UNIQUE_VIOLATION = '23505'
export const DUPLICATE_DATABASE = '42P04'
export const SERIALIZATION_FAILURE = '40001'
export const DEADLOCK_DETECTED = '40P01'

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED'])

/** PostgreSQL could not be reached or is shutting down: the caller should hear 503 and retry, not 500. */
export function isDbUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code
    if (typeof code !== 'string') continue
    if (UNREACHABLE.has(code) || code.startsWith('08') ||
      code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true
  }
  return false
}
