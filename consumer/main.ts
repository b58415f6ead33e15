/**
 * A consumer process: reads the votes stream(s) through the consumer group and applies batches to
 * PostgreSQL. Scale by running more of these. SIGTERM/SIGINT: stop reading, finish and ack the
 * batch in hand, close connections, exit 0; a second signal or the grace timeout exits 1.
 */
import { createServer } from 'node:http'
import { hostname } from 'node:os'
import { pino } from 'pino'
import { loadConfigOrExit } from '../shared/config.js'
import { loggerOptions } from '../shared/logger.js'
import { createDb } from '../shared/db/client.js'
import { closeRedis, createRedis } from '../shared/redis/client.js'
import { redisKeys } from '../shared/redis/keys.js'
import { createConsumerMetrics } from './metrics.js'
import { runLoop } from './loop.js'
import { stopWhenSupervisorExits } from '../shared/supervised.js'

const STATS_INTERVAL_MS = 10_000

const config = loadConfigOrExit('tally-consumer')

const log = pino(loggerOptions(config.LOG_LEVEL, 'tally-consumer'))
const consumer = config.CONSUMER_NAME ?? `${hostname()}-${process.pid}`
const keys = redisKeys(config.REDIS_PREFIX)
const streams = Array.from({ length: keys.shards }, (_, shard) => keys.stream(shard))
const db = createDb(config.DATABASE_URL, { max: 2 })
const redis = createRedis(config.REDIS_URL, { name: `tally-consumer:${consumer}` })
const blocking = createRedis(config.REDIS_URL, { name: `tally-consumer:${consumer}:read` })
const metrics = createConsumerMetrics(redis, streams, config.CONSUMER_GROUP)

const metricsServer = createServer((req, res) => {
  if (req.url !== '/metrics') return res.writeHead(404).end()
  metrics.registry.metrics().then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
    () => res.writeHead(500).end())
})
if (config.CONSUMER_METRICS_PORT > 0) {
  // A busy port (several consumers on one host) costs the metrics endpoint, never the consumer.
  metricsServer.on('error', (err) => log.warn({ err: err.message, port: config.CONSUMER_METRICS_PORT }, 'metrics endpoint not served'))
  metricsServer.listen(config.CONSUMER_METRICS_PORT, config.HOST)
}

const controller = new AbortController()
let graceTimer: NodeJS.Timeout | undefined
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (controller.signal.aborted) process.exit(1) // a second signal: stop now
    log.info({ signal }, 'stopping: finishing the batch in hand')
    controller.abort()
    // With Redis away nothing can be acked anyway, and a command waiting for a reconnect would hold the
    // stop until the grace period ran out: drop the connections, so it fails now and the loop ends.
    // The batch in hand, if any, stays pending and is taken over; its replay changes nothing.
    for (const client of [redis, blocking]) if (client.status !== 'ready') client.disconnect()
    graceTimer = setTimeout(() => {
      log.error('grace period over with work in hand: exiting; the entries stay pending and are reclaimed')
      process.exit(1)
    }, config.SHUTDOWN_GRACE_MS)
    graceTimer.unref()
  })
}

stopWhenSupervisorExits()

let last = metrics.totals()
const stats = setInterval(() => {
  const now = metrics.totals()
  const seconds = STATS_INTERVAL_MS / 1000
  log.info({
    appliedPerSecond: Math.round((now.applied - last.applied) / seconds),
    entriesPerSecond: Math.round((now.entries - last.entries) / seconds),
    avgBatch: now.batches > last.batches ? Math.round((now.entries - last.entries) / (now.batches - last.batches)) : 0,
    deadLetters: now.dead - last.dead,
  }, 'consumer progress')
  last = now
}, STATS_INTERVAL_MS)
stats.unref()

log.info({ consumer, group: config.CONSUMER_GROUP, streams, batchSize: config.CONSUMER_BATCH_SIZE }, 'consumer started')
await runLoop({
  db, redis, blocking, streams, metrics, log, signal: controller.signal, readChangesChannel: keys.readChanges,
  claimIntervalMs: Math.max(100, Math.floor(config.CONSUMER_CLAIM_IDLE_MS / 2)),
  trimIntervalMs: 5000,
  settings: {
    group: config.CONSUMER_GROUP,
    consumer,
    batchSize: config.CONSUMER_BATCH_SIZE,
    blockMs: config.CONSUMER_BLOCK_MS,
    lingerMs: config.CONSUMER_LINGER_MS,
    claimIdleMs: config.CONSUMER_CLAIM_IDLE_MS,
    maxDeliveries: config.CONSUMER_MAX_DELIVERIES,
    deadLetters: keys.deadLetters,
    deadLetterMaxLen: 100_000,
  },
})

// Leave the group tidy: a consumer with nothing pending is forgotten (one with pending entries is kept,
// since deleting it would drop them from the PEL).
if (redis.status === 'ready') {
  try {
    for (const stream of streams) {
      const [count] = await redis.xpending(stream, config.CONSUMER_GROUP, '-', '+', 1, consumer) as unknown[]
      if (count === undefined) await redis.xgroup('DELCONSUMER', stream, config.CONSUMER_GROUP, consumer)
    }
  } catch { /* Redis gone meanwhile: the stale name is harmless */ }
}
blocking.disconnect()
await closeRedis(redis)
await db.close()
metricsServer.close()
clearTimeout(graceTimer)
log.info('consumer stopped')
process.exit(0)
