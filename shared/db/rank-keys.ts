/*
 * The statement that brings the orderings' rank keys (contents.rank_*) up to date for some contents, as raw SQL
 * text around their WHERE condition on `c` (contents): RERANK_HEAD + condition + RERANK_TAIL. Shared by the
 * re-ranker (consumer/rankings.ts) and the Django import (django-import/import.ts), which ends with a sweep.
 *
 * Keys come from the rows' newest version (the UPDATE re-reads a row another transaction changed meanwhile), and
 * only rows whose keys differ are locked and written, in id order like the votes' own statement. SKIP LOCKED: it
 * never waits for a row another holds (a consumer applying votes to it marks it changed again after its commit),
 * so it never holds up a vote, and a row it skips is caught by the next tick or sweep. With a limit, at most that
many rows are written (the first by id). Returns `changed` and the `last` id written.
 */
// The four keys of a row `c`, with the prior `p`: what the orderings sort by.
const KEYS = `c.vote_count,
      case when c.vote_count > 0 then c.vote_sum::float8 / c.vote_count else -1 end,
      tally_bayesian_average(c.vote_sum, c.vote_count, p.mean, p.weight),
      tally_rating_lower_bound(c.votes_0, c.votes_1, c.votes_2, c.votes_3, c.votes_4, c.votes_5, p.z)`

// One pass over the rows the condition selects, and the update by primary key (= any of an array: an index scan
// whatever the planner guesses of the CTE's size; a join to it was planned as a hash join over every content,
// 3.2 s for 2,000 changed rows of 1,000,000).
export const RERANK_HEAD = `
  with p as (select mean, weight, z from ranking_prior), locked as (
    select c.id from contents c, p where `

export const rerankTail = (limit?: number): string => `
      and (c.rank_vote_count, c.rank_average_vote, c.rank_bayesian_average, c.rank_rating_lower_bound) is distinct from (${KEYS})
    order by c.id ${limit === undefined ? '' : `limit ${Math.floor(limit)}`} for no key update of c skip locked
  ), updated as (
    update contents c set (rank_vote_count, rank_average_vote, rank_bayesian_average, rank_rating_lower_bound) = (${KEYS})
    from p where c.id = any(array(select id from locked))
    returning c.id
  )
  select count(*)::int as changed, max(id) as last from updated`

/** The tail without a limit: every row the condition selects. */
export const RERANK_TAIL = rerankTail()
