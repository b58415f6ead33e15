/*
 * The part of a votes write that keeps contents' totals exact, shared by the consumer's batch statement
 * (consumer/apply.ts) and the Django import (django-import/import-votes.ts), as raw SQL text both builders
 * embed (drizzle's sql.raw, postgres.js's unsafe fragment). Both statements must have a CTE `locked` (id,
 * vote_count, vote_sum) holding the contents rows FOR NO KEY UPDATE in ascending id order; consumer/apply.ts
 * says why the totals come from those rows and the old score from the row replaced.
 */

/**
 * Ends `upserted as (insert into votes as v (user_id, content_id, score, version, updated_at) select …`: a
 * row changes only for a newer version, and RETURNING yields the old score it replaced (null: a new row).
 */
export const VOTE_UPSERT_TAIL = `
      on conflict (user_id, content_id) do update
        set score = excluded.score, version = excluded.version, updated_at = excluded.updated_at, prev_score = v.score
        where v.version < excluded.version
      returning v.content_id, v.score, v.prev_score`

/** CTEs after `upserted`: per content, +1 per new vote and the score's change, added to the locked totals. */
export const VOTE_TOTALS_CTES = `
    deltas as (
      select content_id, count(*) filter (where prev_score is null) as added, sum(score - coalesce(prev_score, 0)) as shift
      from upserted group by content_id
    ), bumped as (
      update contents c set vote_count = l.vote_count + d.added, vote_sum = l.vote_sum + d.shift
      from deltas d join locked l on l.id = d.content_id where c.id = d.content_id and (d.added <> 0 or d.shift <> 0)
    )`
