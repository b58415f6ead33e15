/**
 * The one race of a promise against a timer. The timer is cleared as soon as the promise settles, so a
 * fast answer leaves nothing behind to hold the event loop open; the promise itself is not cancelled
 * (a late settlement is dropped), which is why callers use it only where nothing depends on the outcome
 * once they have given up: a probe, a shutdown step, a test waiting for a process.
 */
export class TimeoutError extends Error {
  constructor(readonly what: string, readonly ms: number) {
    super(`${what} did not finish within ${ms} ms`)
    this.name = 'TimeoutError'
  }
}

/** `promise`'s value or error, or a TimeoutError naming `what` once `ms` have passed without either. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}
