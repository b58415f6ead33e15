import cluster from 'node:cluster'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { countRedisErrors, createRegistry } from '../../shared/metrics.js'
import { shareMetricsWithPrimary } from '../worker-metrics.js'
import { VOTE_OUTCOMES, type VoteOutcomeName } from '../../shared/redis/vote-script.js'
import { redisNowMs } from '../../shared/redis/time.js'

declare module 'fastify' {
  interface FastifyInstance {
    countVote(outcome: VoteOutcomeName): void
    /** This process's metrics, for the metrics listener server/main.ts starts (never on the API's port). */
    metricsRegistry: Registry
  }
}

// A scrape reuses a lock count this recent: however often the listener is scraped, Redis sees one ZCOUNT
// per shard per second at most.
const LOCK_COUNT_REUSE_MS = 1000

/**
 * Prometheus metrics of the API: votes by outcome, latency by route, locks, failed Redis commands, and Node's
 * process metrics under their standard names (labelled service="api"). Served on a listener of their own
 * (METRICS_HOST:METRICS_PORT, shared/metrics-server.ts), not by this app: by this process when it is alone, by
 * the node:cluster primary for all its workers when API_PROCESSES > 1 (server/worker-metrics.ts).
 */
export default fp<{ supervisorRestarts?: number }>(async (app, opts) => {
  const registry = createRegistry('api', opts.supervisorRestarts)
  // What reads the same in every process (from Redis): in a cluster one worker reads it for the scrape, not each.
  const clusterWide = new Registry()
  const votes = new Counter({
    name: 'tally_votes_total', help: 'Votes answered by the API, by outcome', labelNames: ['outcome'], registers: [registry],
  })
  const latency = new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'Time from request to response, by route',
    labelNames: ['method', 'route', 'status_code'],
    // Most answers take 0.1–0.5 ms of the API's own time: without buckets below 0.5 ms, p50 and p99 of
    // reads both read as 0.5 ms, whatever they were.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  // Every outcome exists from the start, so rates work before the first refusal. Children are bound
  // once: prom-client hashes the labels of every inc({ … }) and observe({ … }) call otherwise.
  const voteCounters = new Map(VOTE_OUTCOMES.map((outcome) => [outcome, votes.labels(outcome)] as const))
  for (const counter of voteCounters.values()) counter.inc(0)
  const latencies = new Map<string, ReturnType<typeof latency.labels>>()
  const latencyOf = (method: string, route: string, status: number) => {
    const key = `${method} ${status} ${route}`
    let child = latencies.get(key)
    if (child === undefined) latencies.set(key, child = latency.labels(method, route, String(status)))
    return child
  }

  // One series per process serving the port: sum() is how many do, and each pid matches that worker's log lines.
  const processes = new Gauge({
    name: 'tally_api_processes', help: 'API processes serving the port, one series per process', labelNames: ['pid'], registers: [registry],
  })
  processes.set({ pid: String(process.pid) }, 1)
  // Every API process hears every lock announcement (server/reads/change-listener.ts), so a cluster's
  // workers all count all of them: max, not sum. Counted from what arrived since the last scrape.
  let locksCounted = 0
  registry.registerMetric(new Counter({
    name: 'tally_locks_set_total',
    help: 'Contents locked after a burst of votes (every API process sees every lock: take the max over processes, not the sum)',
    aggregator: 'max',
    registers: [],
    collect() {
      const seen = app.reads.changes.locksSeen
      this.inc(seen - locksCounted)
      locksCounted = seen
    },
  }))
  registry.registerMetric(new Gauge({
    name: 'tally_read_changes_subscribed',
    help: 'Whether this API process hears change announcements (1), and so serves list pages from memory; ' +
      '0 while not, when every list read goes to PostgreSQL',
    registers: [],
    collect() { this.set(app.reads.changes.live ? 1 : 0) },
  }))
  const lockSets = Array.from({ length: app.keys.shards }, (_, shard) => app.keys.locks(shard))
  const countLocked = reusedFor(LOCK_COUNT_REUSE_MS, async () => {
    // Whole ms, as vote.lua reads the clock it scores locks by.
    const nowMs = Math.floor(await redisNowMs(app.redis))
    // A lock ends at its score (ms, Redis' clock); ended ones linger in the set until the next lock.
    const counts = await Promise.all(lockSets.map((key) => app.redis.zcount(key, `(${nowMs}`, '+inf')))
    return counts.reduce((a, b) => a + b, 0)
  })
  clusterWide.registerMetric(new Gauge({
    name: 'tally_contents_locked',
    help: 'Contents locked now, from the shards\' lock sets in Redis when scraped (one API process reads it for the whole cluster)',
    aggregator: 'max',
    registers: [],
    // Read when scraped, never on the vote path; bounded by the client's command timeout (and at once
    // refused while Redis is away), in which case the last value stays.
    async collect() {
      try {
        this.set(await countLocked())
      } catch { /* keep the last value rather than fail the scrape */ }
    },
  }))
  countRedisErrors(registry, 'api', { commands: app.redis })

  if (cluster.isWorker) shareMetricsWithPrimary(registry, clusterWide)
  app.decorate('metricsRegistry', Registry.merge([registry, clusterWide]))
  app.decorate('countVote', (outcome: VoteOutcomeName) => voteCounters.get(outcome)!.inc())
  app.addHook('onResponse', (req, reply, done) => {
    // The route pattern, not the URL: /api/contents/:id/ is one series, not one per id (and the map of
    // children stays as small as the routes × methods × statuses).
    latencyOf(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode).observe(reply.elapsedTime / 1000)
    done()
  })
}, { name: 'metrics', dependencies: ['redis', 'reads'] })

/** `read`, at most once per `ms`: calls meanwhile, or while a read is under way, share its result; a failure is not kept. */
function reusedFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let last: { atMs: number; value: Promise<T> } | undefined
  return () => {
    if (last && Date.now() - last.atMs < ms) return last.value
    const value = read()
    const current = { atMs: Date.now(), value }
    last = current
    value.catch(() => { if (last === current) last = undefined })
    return value
  }
}
