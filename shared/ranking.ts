/*
 * The two ranking scores of a content, from its histogram (how many votes give each score 0..5), in TypeScript for
 * the reads. The same formulas are SQL functions (tally_bayesian_average, tally_rating_lower_bound: migration 0014)
 * for the rank keys the orderings sort by; ranking.test.ts holds the two to each other, operation for operation.
 */

/** Votes per score, 0..5. */
export type Histogram = readonly [number, number, number, number, number, number]

/** What the scores are computed with (the ranking_prior row): C, m and z. */
export interface RankingPrior {
  /** C: the mean of every vote in the service (2.5, the middle of the scale, before any). */
  mean: number
  /** m: how many votes of C every content is imagined to start with (RANKING_PRIOR_WEIGHT). */
  weight: number
  /** z of the lower bound (RANKING_LOWER_BOUND_Z): 1.65 is a one-sided 95% bound. */
  z: number
}

export const voteCount = (h: Histogram): number => h[0] + h[1] + h[2] + h[3] + h[4] + h[5]
export const voteSum = (h: Histogram): number => h[1] + 2 * h[2] + 3 * h[3] + 4 * h[4] + 5 * h[5]

/**
 * (m·C + sum) / (m + count): the mean, pulled towards C by m imagined votes, so one 5 (≈ 2.7 with C 2.5, m 10) does
 * not outrank ten votes averaging 4.8 (≈ 3.7). For "top rated" lists: a content needs votes to leave the middle.
 */
export function bayesianAverage(sum: number, count: number, prior: RankingPrior): number {
  return prior.weight + count > 0 ? (prior.weight * prior.mean + sum) / (prior.weight + count) : prior.mean
}

/**
 * Evan Miller's lower bound ("Ranking items with star ratings", 2016) over scores 0..5: with one imagined vote per
 * score, S = Σ k·(n_k + 1) / (N + 6) and the bound is S − z·sqrt((Σ k²·(n_k + 1) / (N + 6) − S²) / (N + 7)). The
 * score a content has with confidence: it rises with agreement and with the number of votes, so it ranks
 * "reliably good" first; needs no C. The sums are exact integers before the one division, as in the SQL.
 */
export function ratingLowerBound(h: Histogram, z: number): number {
  const n = voteCount(h) + 6
  const m1 = (h[1] + 1) + 2 * (h[2] + 1) + 3 * (h[3] + 1) + 4 * (h[4] + 1) + 5 * (h[5] + 1)
  const m2 = (h[1] + 1) + 4 * (h[2] + 1) + 9 * (h[3] + 1) + 16 * (h[4] + 1) + 25 * (h[5] + 1)
  const s = m1 / n
  const s2 = m2 / n
  return s - z * Math.sqrt(Math.max(s2 - s * s, 0) / (n + 1))
}

/** C before any vote: the middle of the scale 0..5 (consumer/rankings.ts computes C from the global histogram). */
export const PRIOR_WITHOUT_VOTES = 2.5
