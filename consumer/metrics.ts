import type { RedisClient } from '../shared/redis/client.js'
import type { Logger } from 'pino'
import { Counter, Histogram, type Registry } from 'prom-client'
import { countRedisErrors, createRegistry } from '../shared/metrics.js'
import { metricsRoute, startMetricsServer, type Answer, type MetricsServer } from '../shared/metrics-server.js'
import type { Readiness } from '../shared/readiness.js'
import type { ApplyResult } from './apply.js'
import { DEAD_LETTER_REASONS, reasonLabel, type Rejected } from './dead-letters.js'
import { CommitLatency } from './commit-latency.js'
import type { Vote } from './decode.js'
import { readQueueState, registerQueueGauges } from './queue-gauges.js'
import type { Batch } from './stream.js'

export interface ConsumerMetrics {
  registry: Registry
  /** A batch taken over from the pending list: entries another consumer (dead, or stuck) had, delivered again. */
  tookOver(batch: Batch): void
  /** The votes one COMMIT wrote (`result` is that commit's), at committedAtMs. */
  committed(votes: readonly Vote[], result: ApplyResult, committedAtMs: number): void
  /** A batch done: applied, dead-lettered and acked. */
  batchApplied(entries: number, result: ApplyResult, dead: readonly Rejected[], seconds: number): void
  totals(): Totals
}

export interface ConsumerMetricsDeps {
  /** Reads the queue's state when scraped. */
  redis: RedisClient
  streams: readonly string[]
  group: string
  deadLetters: string
  /** The clients whose failed commands are counted, by the name they are counted under. */
  clients?: Record<string, RedisClient>
  /** SUPERVISOR_RESTARTS: how often npm start restarted this process before. */
  supervisorRestarts?: number
}

/**
 * Prometheus metrics of one consumer process: Node's process metrics (service="consumer"), what it
 * did (entries, votes, dead letters by reason, takeovers, accept-to-apply latency, batch sizes and
 * times), its failed Redis commands, and the queue's state read from Redis when scraped
 * (consumer/queue-gauges.ts). Every counter series exists, at 0, from the start.
 */
export function createConsumerMetrics(deps: ConsumerMetricsDeps): ConsumerMetrics {
  const registry = createRegistry('consumer', deps.supervisorRestarts)
  const entries = new Counter({
    name: 'tally_consumer_entries_total', help: 'Stream entries processed (acked or dead-lettered)', registers: [registry],
  })
  const applied = new Counter({ name: 'tally_votes_applied_total', help: 'Votes that changed a row in PostgreSQL', registers: [registry] })
  const stale = new Counter({
    name: 'tally_votes_stale_total', help: 'Votes ignored as older than the stored one (replays, out-of-order deliveries)',
    registers: [registry],
  })
  const dead = new Counter({
    name: 'tally_dead_letters_total', help: 'Entries moved to the dead-letter stream, by reason', labelNames: ['reason'],
    registers: [registry],
  })
  for (const reason of DEAD_LETTER_REASONS) dead.inc({ reason }, 0)
  const claims = new Counter({
    name: 'tally_consumer_claims_total', help: 'Takeovers of entries another consumer left pending too long (it died or is stuck)',
    registers: [registry],
  })
  const redeliveries = new Counter({
    name: 'tally_consumer_redeliveries_total',
    help: 'Entries delivered again: taken over from the pending list of a consumer that left them idle',
    registers: [registry],
  })
  const batchSize = new Histogram({
    name: 'tally_consumer_batch_size', help: 'Entries per batch', buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000],
    registers: [registry],
  })
  const applySeconds = new Histogram({
    name: 'tally_consumer_batch_seconds', help: 'Time to apply and ack one batch',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry],
  })
  const latency = new CommitLatency(registry)
  countRedisErrors(registry, 'consumer', deps.clients ?? {})
  registerQueueGauges(registry, () => readQueueState(deps.redis, deps.streams, deps.group, deps.deadLetters))

  const sums = { entries: 0, applied: 0, batches: 0, dead: 0 }
  return {
    registry,
    tookOver(batch) {
      claims.inc()
      redeliveries.inc(batch.entries.length)
    },
    committed(votes, result, committedAtMs) {
      latency.observeCommit(votes, result.rejected, committedAtMs)
    },
    batchApplied(n, result, deadLetters, seconds) {
      entries.inc(n)
      applied.inc(result.applied)
      stale.inc(result.stale)
      for (const d of deadLetters) dead.inc({ reason: reasonLabel(d.reason) })
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

const json = (status: number, body: unknown): Answer =>
  ({ status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) })

/**
 * The consumer's operators' port (shared/metrics-server.ts: loopback unless METRICS_HOST says otherwise): GET
 * /metrics; /health/live (the process is up: 200); /health/ready (200 when PostgreSQL and Redis both answer, else
 * 503, with which one is down). A busy port (several consumers on one host) costs the endpoint, never the consumer.
 */
export function serveMetrics(
  metrics: ConsumerMetrics, opts: { port: number; host: string; log: Logger; ready: () => Promise<Readiness> }
): MetricsServer {
  return startMetricsServer({
    '/metrics': metricsRoute(() => metrics.registry.metrics()),
    '/health/live': async () => json(200, { status: 'ok' }),
    '/health/ready': () => opts.ready().then((r) => json(r.status === 'ok' ? 200 : 503, r), () => json(503, { status: 'down' })),
  }, opts)
}
