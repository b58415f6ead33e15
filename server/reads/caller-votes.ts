import type { PendingVotes } from '../pending-votes/plugin.js'
import type { CallerVote } from './content-json.js'
import type { ContentReads } from './content-queries.js'

/**
 * The caller's own vote on the contents they read: what PostgreSQL has applied, or, while this process knows of a
 * newer vote of theirs on its way (server/pending-votes/), that one, pending. A reader with nothing pending costs
 * one Map lookup (hasAny); one with a vote pending on what they read costs one query by primary key, which also
 * settles the votes PostgreSQL has caught up with (their record goes).
 */
export function createCallerVotes(queries: Pick<ContentReads, 'appliedVotes'>, pending: PendingVotes) {
  /** The pending votes among contentIds, settled against PostgreSQL's rows; undefined when there are none. */
  async function settled(userId: number, contentIds: readonly number[]): Promise<Map<number, CallerVote> | undefined> {
    if (!pending.hasAny(userId)) return undefined
    const ids = contentIds.filter((id) => pending.get(userId, id) !== undefined)
    if (ids.length === 0) return undefined
    const applied = await queries.appliedVotes(userId, ids)
    const votes = new Map<number, CallerVote>()
    for (const id of ids) {
      const row = applied.get(id)
      const still = pending.settle(userId, id, row?.version ?? null)
      // Applied meanwhile: the row just read is at least as new as the vote the caller's earlier read missed.
      votes.set(id, still ? { score: still.score, pending: true } : { score: row?.score ?? null, pending: false })
    }
    return votes
  }
  return {
    /** One content's: `applied` is the score the content's own read found. */
    async one(userId: number, contentId: number, applied: number | null): Promise<CallerVote> {
      return (await settled(userId, [contentId]))?.get(contentId) ?? { score: applied, pending: false }
    },
    /** A page's: only the contents with a vote on its way; undefined (the common case) when there are none. */
    page: settled,
  }
}

export type CallerVotes = ReturnType<typeof createCallerVotes>
