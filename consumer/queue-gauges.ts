import type { RedisClient } from '../shared/redis/client.js'
import { Gauge, type Registry } from 'prom-client'
import { groupInfo } from '../shared/redis/stream-info.js'
import { withTimeout } from '../shared/timeout.js'
import { parseEntryId } from '../shared/entry-version.js'
import { redisNowMs } from '../shared/redis/time.js'
import { DEAD_LETTER_MAX_LEN } from './settings.js'

/*
 * The state of the queue as Redis holds it, read when Prometheus scrapes (one snapshot per scrape,
 * shared by every gauge), so it costs nothing between scrapes and nothing on the vote path. Every
 * consumer reports the same group-wide values: take the max over consumers, never the sum.
 */

// Bounded: with Redis away or hung the commands would wait for it, and the scrape (and every other
// metric) with them. The gauges then keep their last values; tally_redis_command_errors_total and
// /health/ready say why.
const SNAPSHOT_TIMEOUT_MS = 500

export interface StreamState {
  stream: string
  length: number
  /** Entries not yet delivered to the group. */
  lag: number
  /** Delivered, not yet acknowledged. */
  pending: number
  /** Id of the oldest entry not yet delivered, of the oldest pending one (undefined: none). */
  oldestUndelivered?: string
  oldestPending?: string
}

export interface QueueState { nowMs: number; streams: StreamState[]; deadLetters: number }

/** Seconds since the entry was added, at nowMs (both on Redis' clock); 0 without an entry. */
export function entryAgeSeconds(entryId: string | undefined, nowMs: number): number {
  const id = entryId === undefined ? null : parseEntryId(entryId)
  return id === null ? 0 : Math.max(0, nowMs - id[0]) / 1000
}

/** One stream as the group sees it: a few commands, the last two only when there is something to find. */
async function readStream(redis: RedisClient, stream: string, group: string): Promise<StreamState> {
  const [length, info] = await Promise.all([redis.xlen(stream), groupInfo(redis, stream, group)])
  if (info === null) return { stream, length, lag: 0, pending: 0 }
  const [pending, next] = await Promise.all([
    info.pending > 0 ? redis.xpending(stream, group) as Promise<[number, string | null, string | null, unknown]> : undefined,
    // lag null: Redis cannot tell (after some deletions), so look.
    info.lag === 0 ? undefined : redis.xrange(stream, `(${info.lastDelivered}`, '+', 'COUNT', 1),
  ])
  return {
    stream, length, lag: info.lag ?? 0, pending: info.pending,
    oldestPending: pending?.[1] ?? undefined,
    oldestUndelivered: next?.[0]?.[0],
  }
}

export async function readQueueState(
  redis: RedisClient, streams: readonly string[], group: string, deadLetters: string
): Promise<QueueState> {
  const [nowMs, dead, states] = await Promise.all([
    redisNowMs(redis), redis.xlen(deadLetters), Promise.all(streams.map((s) => readStream(redis, s, group))),
  ])
  // Whole milliseconds, like the entry ids the ages are taken from.
  return { nowMs: Math.floor(nowMs), streams: states, deadLetters: dead }
}

export function registerQueueGauges(registry: Registry, read: () => Promise<QueueState>): void {
  let inFlight: Promise<QueueState> | undefined
  const snapshot = () => (inFlight ??= withTimeout(read(), SNAPSHOT_TIMEOUT_MS, 'queue snapshot').finally(() => { inFlight = undefined }))
  const perStream = (name: string, help: string, pick: (s: StreamState, nowMs: number) => number) => new Gauge({
    name, help, labelNames: ['stream'], registers: [registry],
    async collect() {
      try {
        const state = await snapshot()
        for (const s of state.streams) this.set({ stream: s.stream }, pick(s, state.nowMs))
      } catch { /* keep the last values rather than fail the scrape */ }
    },
  })
  perStream('tally_stream_length', 'Entries in the votes stream (acked ones are trimmed every few seconds)', (s) => s.length)
  perStream('tally_group_lag', 'Entries in the stream not yet delivered to the consumer group', (s) => s.lag)
  perStream('tally_group_pending', 'Entries delivered to a consumer but not yet acknowledged', (s) => s.pending)
  perStream('tally_stream_oldest_undelivered_age_seconds', 'Age of the oldest entry not yet delivered to the group (0: none)',
    (s, now) => entryAgeSeconds(s.oldestUndelivered, now))
  perStream('tally_group_oldest_pending_age_seconds', 'Age of the oldest entry delivered but not yet acknowledged (0: none)',
    (s, now) => entryAgeSeconds(s.oldestPending, now))
  registry.registerMetric(new Gauge({
    name: 'tally_dead_letter_stream_length',
    help: `Entries in the dead-letter stream (the newest ${DEAD_LETTER_MAX_LEN} or so are kept)`,
    registers: [],
    async collect() {
      try { this.set((await snapshot()).deadLetters) } catch { /* keep the last value */ }
    },
  }))
}
