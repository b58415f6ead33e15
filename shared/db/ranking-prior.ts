import { sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { PRIOR_WITHOUT_VOTES, type RankingPrior } from '../ranking.js'

/** What migration 0014 starts with (C the middle of the scale, the settings' defaults), until the row is read. */
export const DEFAULT_PRIOR: RankingPrior = { mean: PRIOR_WITHOUT_VOTES, weight: 10, z: 1.65 }

/** The prior in force (the ranking_prior row, written by the re-ranker: consumer/rankings.ts). */
export async function readPrior(db: Db): Promise<RankingPrior> {
  const [row] = await db.execute<{ mean: number; weight: number; z: number }>(sql`select mean, weight, z from ranking_prior`)
  return row ?? DEFAULT_PRIOR
}
