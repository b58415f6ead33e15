import { pgErrorCode } from '../shared/db/errors.js'
import type { ApplyResult } from './apply.js'
import { rejectVote, type Vote } from './decode.js'
import { isPermanent } from './retry.js'

export interface IsolatingSteps {
  /** One apply of `votes` (applyVotes, retried on transient errors); throws what it could not get past. */
  apply(votes: Vote[]): Promise<ApplyResult>
  /** Right after each COMMIT, before the next half of a split batch is tried. */
  committed(votes: Vote[], result: ApplyResult): Promise<void>
}

/**
 * Apply `votes`; a permanent error (a row PostgreSQL refuses: SQLSTATE class 22 or 23) must not sink
 * the batch: split it in halves until the offending vote stands alone, and dead-letter only that one,
 * as apply_failed_<SQLSTATE>. Each half commits on its own, so `committed` runs once per COMMIT. Any
 * other error is thrown as it is, with nothing dead-lettered.
 */
export async function applyIsolating(votes: Vote[], steps: IsolatingSteps): Promise<ApplyResult> {
  if (votes.length === 0) return { applied: 0, stale: 0, rejected: [] }
  let result: ApplyResult
  try {
    result = await steps.apply(votes)
  } catch (err) {
    if (!isPermanent(err)) throw err
    if (votes.length === 1) return { applied: 0, stale: 0, rejected: [rejectVote(votes[0]!, `apply_failed_${pgErrorCode(err)}`)] }
    const half = Math.ceil(votes.length / 2)
    const a = await applyIsolating(votes.slice(0, half), steps)
    const b = await applyIsolating(votes.slice(half), steps)
    return { applied: a.applied + b.applied, stale: a.stale + b.stale, rejected: [...a.rejected, ...b.rejected] }
  }
  await steps.committed(votes, result)
  return result
}
