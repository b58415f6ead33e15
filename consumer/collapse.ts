import type { Vote } from './decode.js'

/**
 * The newest vote per (user, content), ordered by (content, user). One row per key is what an
 * upsert needs (PostgreSQL refuses to touch a row twice in one INSERT … ON CONFLICT), and the
 * fixed order is the order rows get locked in, so concurrent consumers cannot deadlock.
 */
export function collapse(votes: readonly Vote[]): Vote[] {
  const newest = new Map<string, Vote>()
  for (const vote of votes) {
    const key = `${vote.contentId}:${vote.userId}`
    const seen = newest.get(key)
    if (seen === undefined || seen.version < vote.version) newest.set(key, vote)
  }
  return [...newest.values()].sort((a, b) => a.contentId - b.contentId || a.userId - b.userId)
}
