/*
 * The orders a content list comes in (?ordering=): today's newest first, and four rankings. A ranking sorts by its
 * rank key (contents.rank_*, indexed with id: schema.ts), which the re-ranker keeps (consumer/rankings.ts), so a
 * page is one index range scan at any depth; id breaks ties, so the order is total and a cursor names one place.
 * `type` is the key column's: a cursor's key is compared as that type, or the index cannot answer the comparison
 * (an int column compared with a float8 became a filter over every row before the place: 1.6 s at 900,000 deep).
 */
export const ORDERINGS = {
  '-created_at': { column: null, letter: '', type: 'int' },
  '-bayesian_average': { column: 'rank_bayesian_average', letter: 'y', type: 'float8' },
  '-rating_lower_bound': { column: 'rank_rating_lower_bound', letter: 'l', type: 'float8' },
  '-vote_count': { column: 'rank_vote_count', letter: 'v', type: 'int' },
  '-average_vote': { column: 'rank_average_vote', letter: 'a', type: 'float8' },
} as const

export type Ordering = keyof typeof ORDERINGS
export const DEFAULT_ORDERING: Ordering = '-created_at'
export const ORDERING_NAMES = Object.keys(ORDERINGS) as Ordering[]

export const isOrdering = (name: string): name is Ordering => Object.hasOwn(ORDERINGS, name)

/** The ordering a cursor's letter stands for ('' is newest first). */
export const orderingOfLetter = (letter: string): Ordering | undefined => ORDERING_NAMES.find((o) => ORDERINGS[o].letter === letter)
