import { backoffMs } from '../shared/backoff.js'
import { pgErrorCode } from '../shared/db/errors.js'

/**
 * Errors worth retrying: PostgreSQL unreachable or restarting, serialization failures, deadlocks,
 * resource limits, and anything without a SQLSTATE (network errors). Only data errors (class 22)
 * and integrity errors (class 23) are the entry's fault; a retry of those would fail forever.
 */
export function isPermanent(err: unknown): boolean {
  const code = pgErrorCode(err)
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'))
}

export class Aborted extends Error {
  constructor() {
    super('aborted')
    this.name = 'Aborted'
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted())
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(new Aborted())
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Run `fn` until it succeeds, backing off on transient errors: 100 ms after the first failure, doubling,
 * at most 5 s. A permanent error is thrown at once; an abort stops the waiting (throws Aborted) so
 * shutdown is never held up, also when the abort comes while `fn` is failing (Redis away during start-up).
 */
export async function withRetry<T>(
  fn: () => Promise<T>, opts: { signal: AbortSignal; onRetry?: (err: unknown, attempt: number) => void }
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (opts.signal.aborted) throw new Aborted() // shutdown wins over whatever failed
      if (isPermanent(err)) throw err
      opts.onRetry?.(err, attempt)
      await sleep(backoffMs(attempt, { baseMs: 50, maxMs: 5000 }), opts.signal)
    }
  }
}

/**
 * How long the loop waits after its `failures`-th failure in a row (Redis or PostgreSQL away, a
 * NOGROUP): 200 ms, doubling, at most 5 s. A blip costs a fraction of a second; an outage costs a
 * warning every 5 s per consumer rather than a tight loop of failing commands.
 */
export const loopBackoffMs = (failures: number): number => backoffMs(failures, { baseMs: 100, maxMs: 5000 })

/** For a wait shutdown may cut short: Aborted is the expected end, anything else is thrown on. */
export function ignoreAbort(err: unknown): void {
  if (!(err instanceof Aborted)) throw err
}

/**
 * `work`, or Aborted as soon as `signal` aborts, whichever comes first: for waits that shutdown may cut
 * short because nothing depends on them (a Redis command queued while Redis is away).
 */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Aborted())
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Aborted())
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => { signal.removeEventListener('abort', onAbort); resolve(value) },
      (err: unknown) => { signal.removeEventListener('abort', onAbort); reject(err) }
    )
  })
}
