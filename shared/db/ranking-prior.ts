import { sql } from 'drizzle-orm'
import type { Db } from './client.js'
import type { RankingPrior } from '../ranking.js'

/** The prior in force (the ranking_prior row, written by the re-ranker: consumer/rankings.ts). */
export async function readPrior(db: Db): Promise<RankingPrior> {
  const [row] = await db.execute<{ mean: number; weight: number; z: number }>(sql`select mean, weight, z from ranking_prior`)
  return row ?? { mean: 2.5, weight: 10, z: 1.65 }
}
