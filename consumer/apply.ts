import { sql } from 'drizzle-orm'
import type { Db } from '../shared/db/client.js'
import { rejectVote, type Rejected, type Vote } from './decode.js'

export interface ApplyResult {
  /** Votes that changed a row (new, or newer than the stored one). */
  applied: number
  /** Votes older than or equal to what is stored: a replay or an out-of-order delivery; nothing changed. */
  stale: number
  /** Votes naming a user or content that does not exist. */
  rejected: Rejected[]
}


/**
 * Apply collapsed votes (one per (user, content), ordered by content) in ONE transaction:
 *  1. lock the contents rows in ascending id order: every consumer locks in that order, so none can
 *     deadlock another, and votes of one content are applied by one consumer at a time, which is what
 *     makes the old-score read in step 3 exact;
 *  2. drop votes for users or contents that do not exist (they go to the dead letters);
 *  3. one statement: upsert votes where the stored version is older, and add the count/sum deltas
 *     (new vote: +1, +score; changed: +0, +new−old; replay: nothing) to contents.
 * A batch delivered twice changes nothing the second time: every version is already stored.
 */
export async function applyVotes(db: Db, votes: readonly Vote[]): Promise<ApplyResult> {
  if (votes.length === 0) return { applied: 0, stale: 0, rejected: [] }
  const contentIds = [...new Set(votes.map((v) => v.contentId))]
  const userIds = [...new Set(votes.map((v) => v.userId))]
  return db.transaction(async (tx) => {
    const lockedContents = await tx.execute<{ id: number }>(sql`select id from contents
      where id = any(${sql.param(contentIds)}::int[]) order by id for no key update`)
    const knownUsers = await tx.execute<{ id: number }>(sql`select id from users where id = any(${sql.param(userIds)}::int[])`)
    const contentOk = new Set(lockedContents.map((r) => r.id))
    const userOk = new Set(knownUsers.map((r) => r.id))
    const rejected: Rejected[] = []
    const valid: Vote[] = []
    for (const v of votes) {
      if (!contentOk.has(v.contentId)) rejected.push(rejectVote(v, 'unknown_content'))
      else if (!userOk.has(v.userId)) rejected.push(rejectVote(v, 'unknown_user'))
      else valid.push(v)
    }
    if (valid.length === 0) return { applied: 0, stale: 0, rejected }

    // Versions travel as text[]: drizzle's postgres.js setup has no serializer for numeric[] parameters.
    // `prev` and the upsert see the same snapshot, taken after step 1's locks were granted, so prev
    // holds exactly the rows the upsert is about to replace.
    const [row] = await tx.execute<{ applied: number }>(sql`
      with input as (
        select * from unnest(${sql.param(valid.map((v) => v.userId))}::int[], ${sql.param(valid.map((v) => v.contentId))}::int[],
          ${sql.param(valid.map((v) => v.score))}::smallint[], ${sql.param(valid.map((v) => v.version.toString()))}::text[]::numeric[])
          as t(user_id, content_id, score, version)
      ), prev as (
        select v.user_id, v.content_id, v.score from votes v
        join input i on v.user_id = i.user_id and v.content_id = i.content_id
      ), upserted as (
        insert into votes (user_id, content_id, score, version, updated_at)
        select user_id, content_id, score, version, now() from input
        on conflict (user_id, content_id) do update
          set score = excluded.score, version = excluded.version, updated_at = excluded.updated_at
          where votes.version < excluded.version
        returning user_id, content_id, score
      ), deltas as (
        select u.content_id, count(*) filter (where p.user_id is null) as added, sum(u.score - coalesce(p.score, 0)) as shift
        from upserted u left join prev p on p.user_id = u.user_id and p.content_id = u.content_id
        group by u.content_id
      ), bumped as (
        update contents c set vote_count = c.vote_count + d.added, vote_sum = c.vote_sum + d.shift
        from deltas d where c.id = d.content_id and (d.added <> 0 or d.shift <> 0)
        returning c.id
      )
      select (select count(*) from upserted)::int as applied`)
    const applied = row?.applied ?? 0
    return { applied, stale: valid.length - applied, rejected }
  })
}
