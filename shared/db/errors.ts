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
