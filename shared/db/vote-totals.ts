/*
 * The part of a votes write that keeps the totals exact, shared by the consumer's batch statement
 * (consumer/apply.ts) and the Django import (django-import/import-votes.ts), as raw SQL text both builders
 * embed (drizzle's sql.raw, postgres.js's unsafe fragment). Both statements must have a CTE `locked` selecting
 * LOCKED_COLUMNS of the contents rows FOR NO KEY UPDATE in ascending id order; consumer/apply.ts says why the
 * totals come from those rows and the old score from the row replaced.
 */

const SCORES = [0, 1, 2, 3, 4, 5] as const
const each = (f: (k: number) => string, sep = ', ') => SCORES.map(f).join(sep)

/** What `locked` selects: the totals the deltas are added to (count, sum and the histogram). */
export const LOCKED_COLUMNS = `id, vote_count, vote_sum, ${each((k) => `votes_${k}`)}`

/**
 * Ends `upserted as (insert into votes as v (user_id, content_id, score, version, updated_at) select …`: a
 * row changes only for a newer version, and RETURNING yields the old score it replaced (null: a new row, or
 * a vote taken back). score null is a retraction: the row stays, with its version.
 */
export const VOTE_UPSERT_TAIL = `
      on conflict (user_id, content_id) do update
        set score = excluded.score, version = excluded.version, updated_at = excluded.updated_at, prev_score = v.score
        where v.version < excluded.version
      returning v.content_id, v.score, v.prev_score`

/**
 * CTEs after `upserted`. Per content: votes counted now minus before (a new vote +1, a retraction −1, a change 0),
 * the sum's change, and each score's change (a changed vote moves one from its old score to its new one), added to
 * the locked totals; then the same, summed over the statement, added to this backend's row of the global histogram
 * (score_totals: 16 rows, so consumers do not queue on one). Nothing changed (every vote stale): no write at all.
 */
export const VOTE_TOTALS_CTES = `
    deltas as (
      select content_id, count(score) - count(prev_score) as added, coalesce(sum(score), 0) - coalesce(sum(prev_score), 0) as shift,
        ${each((k) => `count(*) filter (where score = ${k}) - count(*) filter (where prev_score = ${k}) as d${k}`, ',\n        ')}
      from upserted group by content_id
    ), bumped as (
      update contents c set vote_count = l.vote_count + d.added, vote_sum = l.vote_sum + d.shift,
        ${each((k) => `votes_${k} = l.votes_${k} + d.d${k}`)}
      from deltas d join locked l on l.id = d.content_id
      where c.id = d.content_id and (${each((k) => `d.d${k} <> 0`, ' or ')})
    ), global_totals as (
      insert into score_totals as t (slot, ${each((k) => `votes_${k}`)})
      select (pg_backend_pid() % 16)::smallint, ${each((k) => `sum(d${k})`)} from deltas
      having ${each((k) => `sum(d${k}) <> 0`, ' or ')}
      on conflict (slot) do update set ${each((k) => `votes_${k} = t.votes_${k} + excluded.votes_${k}`)}
    )`
