/** vote.lua's reply as a typed outcome (see the script's header for the codes). */
export type VoteOutcome =
  | { kind: 'accepted'; entryId: string }
  | { kind: 'locked'; retryAfterSeconds: number }
  | { kind: 'unknown_content' }
  | { kind: 'index_incomplete' }
  | { kind: 'deadline_passed' }
  | { kind: 'rate_limited'; retryAfterSeconds: number }

export function parseVoteReply(reply: readonly unknown[]): VoteOutcome {
  const [code, value] = reply
  switch (code) {
    case 1:
      if (typeof value !== 'string') break
      return { kind: 'accepted', entryId: value }
    case 0:
      if (typeof value !== 'number') break
      // Retry-After is whole seconds: round up so a client that waits that long finds the lock gone.
      return { kind: 'locked', retryAfterSeconds: Math.max(1, Math.ceil(value / 1000)) }
    case -1: return { kind: 'unknown_content' }
    case -2: return { kind: 'index_incomplete' }
    case -3: return { kind: 'deadline_passed' }
    case -4:
      if (typeof value !== 'number') break
      return { kind: 'rate_limited', retryAfterSeconds: Math.max(1, Math.ceil(value / 1000)) }
  }
  throw new Error(`unexpected reply from vote.lua: ${JSON.stringify(reply)}`)
}
