/**
 * How long to wait before attempt `attempt` (0 for the first retry) of something that failed: `baseMs`
 * doubled per attempt, never more than `maxMs`. Every retry in tally (the consumer's statements and loop,
 * Redis reconnects, the launcher's and tests' waits) waits by this one rule, so a reader learns it once.
 * The exponent stops at 30: past it the cap has long won, and 2 ** 1024 would be Infinity.
 */
export function backoffMs(attempt: number, { baseMs, maxMs }: { baseMs: number; maxMs: number }): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30))
}
