import { createServer, type Server } from 'node:http'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Rejected } from './decode.js'
import { groupInfo } from '../shared/redis/stream-info.js'
import type { ApplyResult } from './apply.js'

const STREAM_INFO_TIMEOUT_MS = 500

export interface ConsumerMetrics {
  registry: Registry
  batchApplied(entries: number, result: ApplyResult, dead: readonly Rejected[], seconds: number): void
  totals(): Totals
}

/**
 * Prometheus metrics of one consumer process. Stream length, lag and pending are read from Redis
 * when scraped (one XINFO per stream), so they cost nothing between scrapes.
 */
export function createConsumerMetrics(redis: Redis, streams: readonly string[], group: string): ConsumerMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'tally_consumer_' })
  const entries = new Counter({ name: 'tally_consumer_entries_total', help: 'Stream entries processed (acked or dead-lettered)', registers: [registry] })
  const applied = new Counter({ name: 'tally_votes_applied_total', help: 'Votes that changed a row in PostgreSQL', registers: [registry] })
  const stale = new Counter({ name: 'tally_votes_stale_total', help: 'Votes ignored as older than the stored one (replays, out-of-order deliveries)', registers: [registry] })
  const dead = new Counter({ name: 'tally_dead_letters_total', help: 'Entries moved to the dead-letter stream, by reason', labelNames: ['reason'], registers: [registry] })
  const batchSize = new Histogram({ name: 'tally_consumer_batch_size', help: 'Entries per batch', buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000], registers: [registry] })
  const applySeconds = new Histogram({ name: 'tally_consumer_batch_seconds', help: 'Time to apply and ack one batch', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] })
  // Bounded: with Redis hung the commands would wait for it, and the scrape (and every other metric) with them.
  const streamInfo = async () => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('redis too slow')), STREAM_INFO_TIMEOUT_MS) })
    try {
      return await Promise.race([timeout, Promise.all(streams.map(async (stream) => {
        const [length, info] = await Promise.all([redis.xlen(stream), groupInfo(redis, stream, group)])
        return { stream, length, lag: info?.lag ?? 0, pending: info?.pending ?? 0 }
      }))])
    } finally {
      clearTimeout(timer)
    }
  }
  const gauge = (name: string, help: string, pick: (i: { length: number; lag: number; pending: number }) => number) => new Gauge({
    name, help, labelNames: ['stream'], registers: [registry],
    async collect() {
      try {
        for (const info of await streamInfo()) this.set({ stream: info.stream }, pick(info))
      } catch { /* Redis away: keep the last values rather than fail the scrape */ }
    },
  })
  gauge('tally_stream_length', 'Entries in the votes stream', (i) => i.length)
  gauge('tally_group_lag', 'Entries in the stream not yet delivered to the consumer group', (i) => i.lag)
  gauge('tally_group_pending', 'Entries delivered but not yet acknowledged', (i) => i.pending)

  const sums = { entries: 0, applied: 0, batches: 0, dead: 0 }
  return {
    registry,
    batchApplied(n, result, deadLetters, seconds) {
      entries.inc(n)
      applied.inc(result.applied)
      stale.inc(result.stale)
      for (const d of deadLetters) dead.inc({ reason: d.reason })
      batchSize.observe(n)
      applySeconds.observe(seconds)
      sums.entries += n
      sums.applied += result.applied
      sums.batches += 1
      sums.dead += deadLetters.length
    },
    totals: () => ({ ...sums }),
  }
}

export interface Totals { entries: number; applied: number; batches: number; dead: number }

/** The progress line's numbers: rates over the `seconds` between two readings of the totals. */
export function progressSummary(last: Totals, now: Totals, seconds: number) {
  return {
    appliedPerSecond: Math.round((now.applied - last.applied) / seconds),
    entriesPerSecond: Math.round((now.entries - last.entries) / seconds),
    avgBatch: now.batches > last.batches ? Math.round((now.entries - last.entries) / (now.batches - last.batches)) : 0,
    deadLetters: now.dead - last.dead,
  }
}

/** One info line every intervalMs with the rates since the last; returns the function that stops it. */
export function logProgress(metrics: ConsumerMetrics, log: Logger, intervalMs: number): () => void {
  let last = metrics.totals()
  const timer = setInterval(() => {
    const now = metrics.totals()
    log.info(progressSummary(last, now, intervalMs / 1000), 'consumer progress')
    last = now
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * GET /metrics on `port`. A busy port (several consumers on one host) costs the endpoint, never the
 * consumer: it is logged and the consumer goes on without it.
 */
export function serveMetrics(metrics: ConsumerMetrics, opts: { port: number; host: string; log: Logger }): Server {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return res.writeHead(404).end()
    metrics.registry.metrics().then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      () => res.writeHead(500).end())
  })
  server.on('error', (err) => opts.log.warn({ err: err.message, port: opts.port }, 'metrics endpoint not served'))
  server.listen(opts.port, opts.host)
  return server
}
