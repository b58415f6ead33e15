/**
 * A consumer process: reads the votes stream(s) through the consumer group and applies batches to
 * PostgreSQL. Scale by running more of these. SIGTERM/SIGINT: stop reading, finish and ack the
 * batch in hand, close connections, exit 0; a second signal or the grace timeout exits 1.
 */
import { hostname } from 'node:os'
import { pino } from 'pino'
import { loadConfigOrExit } from '../shared/config.js'
import { loggerOptions } from '../shared/logger.js'
import { createDb } from '../shared/db/client.js'
import { closeRedis, createRedis } from '../shared/redis/client.js'
import { redisKeys } from '../shared/redis/keys.js'
import { describeTarget, redisTarget } from '../shared/redis/target.js'
import { STOP_SIGNALS, stopOnSignals } from '../shared/stop-signals.js'
import { stopWhenSupervisorExits } from '../shared/supervised.js'
import { checkReadiness } from '../shared/readiness.js'
import { createConsumerMetrics, logProgress, serveMetrics } from './metrics.js'
import { runLoop } from './loop.js'
import { consumerSettings, rankingSettings, PROGRESS_INTERVAL_MS } from './settings.js'
import { leaveGroup } from './stream.js'
import { createReranker } from './rankings.js'
import { announceAllChanged } from '../shared/read-changes.js'

const config = loadConfigOrExit('tally-consumer')

const log = pino(loggerOptions(config.LOG_LEVEL, 'tally-consumer'))
const consumer = config.CONSUMER_NAME ?? `${hostname()}-${process.pid}`
const keys = redisKeys(config.REDIS_PREFIX, config.VOTE_STREAM_SHARDS)
const { streams, settings, claimIntervalMs, trimIntervalMs, lanes } = consumerSettings(config, consumer, keys)
// One connection per lane, and one for the trim's ledger horizon and the readiness check beside them.
const db = createDb(config.DATABASE_URL, { max: lanes + 1, name: 'tally-consumer' })
// The re-ranker's own, without JIT: its statements look dear to the planner (an array of ids of unknown length), and
// compiling them took about 0.5 s a tick for a statement that runs in milliseconds.
const rankingDb = createDb(config.DATABASE_URL, { max: 1, name: 'tally-consumer-ranking', settings: { jit: 'off' } })
const target = redisTarget(config)
const redis = createRedis(target, { name: `tally-consumer:${consumer}` })
const blocking = createRedis(target, { name: `tally-consumer:${consumer}:read` })
const metrics = createConsumerMetrics({
  redis, streams, group: config.CONSUMER_GROUP, deadLetters: keys.deadLetters, clients: { commands: redis, blocking },
  supervisorRestarts: config.SUPERVISOR_RESTARTS,
})
const metricsServer = config.CONSUMER_METRICS_PORT > 0
  ? serveMetrics(metrics, { port: config.CONSUMER_METRICS_PORT, host: config.METRICS_HOST, log, ready: () => checkReadiness(db, redis) })
  : undefined

const rankings = createReranker({
  db: rankingDb, log, settings: rankingSettings(config), announce: () => announceAllChanged(redis, keys.readChanges),
})

const controller = new AbortController()
stopOnSignals({
  signals: STOP_SIGNALS,
  graceMs: config.SHUTDOWN_GRACE_MS,
  begin: (signal) => {
    log.info({ signal }, 'stopping: finishing the batch in hand')
    controller.abort()
    // With Redis away nothing can be acked anyway, and a command waiting for a reconnect would hold the
    // stop until the grace period ran out: drop the connections, so it fails now and the loop ends.
    // The batch in hand, if any, stays pending and is taken over; its replay changes nothing.
    for (const client of [redis, blocking]) if (client.status !== 'ready') client.disconnect()
  },
  onTimeout: () => log.error('grace period over with work in hand: exiting; the entries stay pending and are reclaimed'),
})

stopWhenSupervisorExits()

const stopProgress = logProgress(metrics, log, PROGRESS_INTERVAL_MS)

log.info({
  consumer, group: config.CONSUMER_GROUP, redis: describeTarget(target), streams, batchSize: config.CONSUMER_BATCH_SIZE, lanes,
}, 'consumer started')
rankings.start()
await runLoop({
  db, redis, blocking, streams, metrics, log, signal: controller.signal, readChangesChannel: keys.readChanges,
  claimIntervalMs, trimIntervalMs, settings, lanes, rankings,
})
await rankings.stop()

await leaveGroup(redis, streams, config.CONSUMER_GROUP, consumer)
stopProgress()
blocking.disconnect()
await closeRedis(redis)
await db.close()
await rankingDb.close()
await metricsServer?.close()
log.info('consumer stopped')
process.exit(0)
