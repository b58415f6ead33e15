import type { Vote } from './decode.js'

/** Content, then user ascending; within one (user, content) the newest entry first. */
function lockOrderNewestFirst(a: Vote, b: Vote): number {
  return a.contentId - b.contentId || a.userId - b.userId || b.ms - a.ms || b.seq - a.seq
}

/**
 * The newest vote per (user, content), ordered by (content, user). One row per key is what an
 * upsert needs (PostgreSQL refuses to touch a row twice in one INSERT … ON CONFLICT), and the
 * fixed order is the order rows get locked in, so concurrent consumers cannot deadlock.
 * One sort that puts each key's newest entry first, then one pass keeping the first of each run:
 * no string keys, no map; ids compare as numbers (ms, then seq).
 */
export function collapse(votes: readonly Vote[]): Vote[] {
  const sorted = [...votes].sort(lockOrderNewestFirst)
  const out: Vote[] = []
  let last: Vote | undefined
  for (const vote of sorted) {
    if (last === undefined || last.contentId !== vote.contentId || last.userId !== vote.userId) out.push(vote)
    last = vote
  }
  return out
}
