import type { FastifyBaseLogger } from 'fastify'
import type { Db } from '../../shared/db/client.js'
import { DEFAULT_PRIOR, readPrior } from '../../shared/db/ranking-prior.js'
import type { RankingPrior } from '../../shared/ranking.js'
import { withTimeout } from '../../shared/timeout.js'

const FIRST_READ_MS = 2000

/**
 * The prior (C, m, z) this API process computes bayesian_average and rating_lower_bound with: the row the
 * re-ranker keeps (consumer/rankings.ts), read at start and every `refreshMs`, never per request. When it
 * changes, `changed` is called (the cached pages, rendered with the old one, go).
 */
export async function watchPrior(db: Db, refreshMs: number, log: FastifyBaseLogger, changed: () => void) {
  // A start without PostgreSQL still starts (its reads answer 503 until it is back); the prior arrives with it.
  let prior: RankingPrior = await withTimeout(readPrior(db), FIRST_READ_MS, 'ranking prior').catch(() => DEFAULT_PRIOR)
  const timer = setInterval(() => {
    readPrior(db).then((next) => {
      if (next.mean === prior.mean && next.weight === prior.weight && next.z === prior.z) return
      prior = next
      changed()
    }, (err: unknown) => log.warn({ err: (err as Error).message }, 'ranking prior not read; keeping the last one'))
  }, refreshMs)
  timer.unref()
  return {
    get current(): RankingPrior { return prior },
    close: () => clearInterval(timer),
  }
}

export type PriorWatch = Awaited<ReturnType<typeof watchPrior>>
