/**
 * The one poll: until `check` returns a truthy value (returned), or a failure after `timeoutMs`. An error from
 * `check` means "not yet", and the last one is quoted in the failure. `hopeless` names a state no waiting can mend
 * (the process being waited for has exited): the wait ends at once with that reason instead of running out.
 */
export interface WaitOptions {
  timeoutMs?: number
  intervalMs?: number
  /** What is awaited, for the failure message. */
  what?: string
  /** Why waiting on is pointless, or undefined while it is not. */
  hopeless?: () => string | undefined
}

export async function waitFor<T>(check: () => Promise<T> | T,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition', hopeless }: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    const reason = hopeless?.()
    if (reason) throw new Error(`gave up waiting for ${what}: ${reason}`)
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
