import type { Logger } from 'pino'
import type { Db } from '../shared/db/client.js'
import type { RedisClient } from '../shared/redis/client.js'
import { advanceHorizon, type RaisedHorizon } from './ledger.js'

export interface TrimDeps {
  db: Db
  /** Runs trim.lua (trimAcked). */
  redis: RedisClient
  streams: readonly string[]
  log: Logger
}

/**
 * Trimming what every group acknowledged from the streams, and raising the ledger's horizon to the same place.
 * Keeps, per stream, the horizon this consumer raised whose rows are still to be deleted (advanceHorizon).
 */
export function streamTrimmer(deps: TrimDeps) {
  const horizons = new Map<string, RaisedHorizon>()

  /**
   * Trim what every group acknowledged from `stream`, and raise the ledger's horizon to the same place. The
   * horizon can wait: should PostgreSQL fail it, the next trim raises it further, and until then the rows of
   * acknowledged entries are merely kept a little longer.
   */
  async function trim(stream: string): Promise<void> {
    const threshold = await deps.redis.trimAcked(stream)
    try {
      const left = await advanceHorizon(deps.db, stream, threshold, horizons.get(stream))
      if (left) horizons.set(stream, left)
      else horizons.delete(stream)
    } catch (err) {
      deps.log.warn({ err: (err as Error).message, stream }, 'ledger horizon not raised; the next trim tries again')
    }
  }

  return {
    /** Every stream, one after another. */
    async trimAll(): Promise<void> {
      for (const stream of deps.streams) await trim(stream)
    },
  }
}
