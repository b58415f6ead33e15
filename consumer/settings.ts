import type { RankingSettings } from './rankings.js'
import type { Config } from '../shared/config.js'
import type { RedisKeys } from '../shared/redis/keys.js'
import type { StreamSettings } from './stream.js'

/*
 * The consumer's settings: what config sets, and the intervals that are not worth a variable, each
 * with the reason for its value. (A new variable would also mean a line in .env.example and the
 * settings table; none of these has needed tuning so far.)
 */

/** The one info line per interval the consumer logs (its rates since the last one). */
export const PROGRESS_INTERVAL_MS = 10_000

/**
 * Trim what every group has acked this often: one script run per stream, so per batch would cost a
 * round trip per batch for nothing; the stream meanwhile holds at most this long's votes beyond what
 * the groups still need.
 */
export const TRIM_INTERVAL_MS = 5000

/**
 * Dead letters kept (approximately: MAXLEN ~) before the oldest go: a dead letter is a few hundred
 * bytes, so a flood of bad entries costs Redis tens of MB at most, while the latest ones stay there
 * for someone to look at.
 */
export const DEAD_LETTER_MAX_LEN = 100_000

/**
 * How often a consumer walks the pending list for entries left idle: a quarter of the idle time, so an
 * entry whose consumer died is taken over at most 1.25 × CONSUMER_CLAIM_IDLE_MS after its holder's last
 * renewal (3.75 s by default); never more often than every 100 ms, so a tiny idle time (tests) does not
 * turn it into a busy loop. A walk is one XAUTOCLAIM per shard, which finds nothing while all are alive.
 */
export const claimIntervalMs = (claimIdleMs: number): number => Math.max(100, Math.floor(claimIdleMs / 4))

export interface ConsumerSettings {
  streams: string[]
  /** Batches applied at once (consumer/lanes.ts). */
  lanes: number
  settings: StreamSettings
  claimIntervalMs: number
  trimIntervalMs: number
}

export function consumerSettings(config: Config, consumer: string, keys: RedisKeys): ConsumerSettings {
  return {
    streams: Array.from({ length: keys.shards }, (_, shard) => keys.stream(shard)),
    claimIntervalMs: claimIntervalMs(config.CONSUMER_CLAIM_IDLE_MS),
    trimIntervalMs: TRIM_INTERVAL_MS,
    lanes: config.CONSUMER_CONCURRENCY,
    settings: {
      group: config.CONSUMER_GROUP,
      consumer,
      batchSize: config.CONSUMER_BATCH_SIZE,
      blockMs: config.CONSUMER_BLOCK_MS,
      lingerMs: config.CONSUMER_LINGER_MS,
      claimIdleMs: config.CONSUMER_CLAIM_IDLE_MS,
      maxDeliveries: config.CONSUMER_MAX_DELIVERIES,
      deadLetters: keys.deadLetters,
      deadLetterMaxLen: DEAD_LETTER_MAX_LEN,
    },
  }
}

/** The re-ranker's settings (consumer/rankings.ts). */
export const rankingSettings = (config: Config): RankingSettings => ({
  weight: config.RANKING_PRIOR_WEIGHT, z: config.RANKING_LOWER_BOUND_Z, tolerance: config.RANKING_PRIOR_TOLERANCE,
  refreshMs: config.RANKING_REFRESH_MS, maxPerTick: config.RANKING_MAX_PER_TICK,
})
