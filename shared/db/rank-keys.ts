/*
 * The statement that brings the orderings' rank keys (contents.rank_*) up to date for some contents, as raw SQL
 * text around their WHERE condition on `c` (contents): RERANK_HEAD + condition + RERANK_TAIL. Shared by the
 * re-ranker (consumer/rankings.ts) and the Django import (django-import/import.ts), which ends with a sweep.
 *
 * Keys come from the rows' newest version (the UPDATE re-reads a row another transaction changed meanwhile), and
 * only rows whose keys differ are locked and written, in id order like the votes' own statement. SKIP LOCKED: it
 * never waits for a row another holds (a consumer applying votes to it marks it changed again after its commit),
 * so it never holds up a vote, and a row it skips is caught by the next tick or sweep. Returns `changed`.
 */
export const RERANK_HEAD = `
  with p as (select mean, weight, z from ranking_prior), keys as (
    select c.id, c.vote_count as k1, case when c.vote_count > 0 then c.vote_sum::float8 / c.vote_count else -1 end as k2,
      tally_bayesian_average(c.vote_sum, c.vote_count, p.mean, p.weight) as k3,
      tally_rating_lower_bound(c.votes_0, c.votes_1, c.votes_2, c.votes_3, c.votes_4, c.votes_5, p.z) as k4
    from contents c, p where `

export const RERANK_TAIL = `
  ), locked as (
    select c.id from contents c join keys k on k.id = c.id
    where (c.rank_vote_count, c.rank_average_vote, c.rank_bayesian_average, c.rank_rating_lower_bound)
      is distinct from (k.k1, k.k2, k.k3, k.k4)
    order by c.id for no key update of c skip locked
  ), updated as (
    update contents c set rank_vote_count = c.vote_count,
      rank_average_vote = case when c.vote_count > 0 then c.vote_sum::float8 / c.vote_count else -1 end,
      rank_bayesian_average = tally_bayesian_average(c.vote_sum, c.vote_count, p.mean, p.weight),
      rank_rating_lower_bound = tally_rating_lower_bound(c.votes_0, c.votes_1, c.votes_2, c.votes_3, c.votes_4, c.votes_5, p.z)
    from locked l, p where c.id = l.id
    returning c.id
  )
  select count(*)::int as changed from updated`
