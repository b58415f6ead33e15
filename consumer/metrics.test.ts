// The consumer's metrics and its HTTP port against a real Redis and PostgreSQL: counters from 0, the
// queue's state read from Redis when scraped, /health/live and /health/ready.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { closeRedis, createRedis } from '../shared/redis/client.js'
import { redisKeys } from '../shared/redis/keys.js'
import { freePort } from '../devtools/ports.js'
import { isolatedPrefix, openDb, openRedis } from '../test/consumer-helpers.js'
import { sampleOf } from '../test/metrics-text.js'
import { DEAD_LETTER_REASONS } from './dead-letters.js'
import { checkReadiness } from '../shared/readiness.js'
import { createConsumerMetrics, progressSummary, serveMetrics, type ConsumerMetrics } from './metrics.js'
import { ensureGroup } from './stream.js'

function metricsOn(t: TestContext) {
  const redis = openRedis(t)
  const keys = redisKeys(isolatedPrefix())
  const stream = keys.stream(0)
  const metrics = createConsumerMetrics({
    redis, streams: [stream], group: 'g', deadLetters: keys.deadLetters, clients: { commands: redis },
  })
  return { redis, keys, stream, metrics, scrape: () => metrics.registry.metrics() }
}

test('every counter is there at 0 before the first batch, dead letters under every reason', async (t) => {
  const text = await metricsOn(t).scrape()
  const counters = [
    'tally_consumer_entries_total', 'tally_votes_applied_total', 'tally_votes_stale_total', 'tally_consumer_claims_total',
    'tally_consumer_redeliveries_total',
  ]
  for (const name of counters) {
    assert.equal(sampleOf(text, name), 0, name)
  }
  for (const reason of DEAD_LETTER_REASONS) assert.equal(sampleOf(text, 'tally_dead_letters_total', { reason }), 0, reason)
  for (const kind of ['timeout', 'connection', 'reply']) {
    assert.equal(sampleOf(text, 'tally_redis_command_errors_total', { service: 'consumer', client: 'commands', kind }), 0, kind)
  }
  assert.equal(sampleOf(text, 'tally_vote_accept_to_apply_seconds_count'), 0)
})

test('a scrape reads the queue from Redis: length, lag, pending, ' +
  'the ages of the oldest undelivered and pending entries, dead letters', async (t) => {
  const { redis, keys, stream, scrape } = metricsOn(t)
  const now = Date.now()
  // Entries accepted 90, 60, 30 and 20 s ago; a consumer took the first two and acked neither.
  for (const agoMs of [90_000, 60_000, 30_000, 20_000]) {
    await redis.xadd(stream, `${now - agoMs}-0`, 'user', '1', 'content', '1', 'score', '1')
  }
  await ensureGroup(redis, stream, 'g')
  await redis.xreadgroup('GROUP', 'g', 'busy', 'COUNT', 2, 'STREAMS', stream, '>')
  for (let i = 0; i < 3; i++) await redis.xadd(keys.deadLetters, '*', 'reason', 'bad_score')
  const text = await scrape()
  const of = (name: string) => sampleOf(text, name, { stream })!
  assert.deepEqual([of('tally_stream_length'), of('tally_group_lag'), of('tally_group_pending')], [4, 2, 2])
  const pendingAge = of('tally_group_oldest_pending_age_seconds')
  const undeliveredAge = of('tally_stream_oldest_undelivered_age_seconds')
  assert.ok(pendingAge >= 89 && pendingAge < 150, `oldest pending: 90 s old, got ${pendingAge}`)
  assert.ok(undeliveredAge >= 29 && undeliveredAge < 90, `oldest undelivered: 30 s old, got ${undeliveredAge}`)
  assert.equal(sampleOf(text, 'tally_dead_letter_stream_length'), 3)

  await redis.xreadgroup('GROUP', 'g', 'busy', 'COUNT', 2, 'STREAMS', stream, '>')
  await redis.xack(stream, 'g', ...(await redis.xrange(stream, '-', '+')).map(([id]) => id))
  const drained = await scrape()
  assert.equal(sampleOf(drained, 'tally_group_oldest_pending_age_seconds', { stream }), 0, 'nothing pending')
  assert.equal(sampleOf(drained, 'tally_stream_oldest_undelivered_age_seconds', { stream }), 0, 'nothing undelivered')
})

// Unbounded, the queued commands would hold the scrape until ioredis gave up on them (20 reconnects, about 10 s).
test('a scrape while Redis does not answer still answers, in bounded time, ' +
  'without the queue gauges failing it', { timeout: 5000 }, async (t) => {
  const nowhere = createRedis(`redis://127.0.0.1:${await freePort()}`)
  t.after(() => closeRedis(nowhere))
  const metrics = createConsumerMetrics({ redis: nowhere, streams: ['s'], group: 'g', deadLetters: 'd' })
  const text = await metrics.registry.metrics()
  assert.match(text, /^# TYPE tally_group_lag gauge$/m)
  assert.equal(sampleOf(text, 'tally_consumer_entries_total'), 0)
})

async function listen(t: TestContext, metrics: ConsumerMetrics, ready: Parameters<typeof serveMetrics>[1]['ready']) {
  const server = serveMetrics(metrics, { port: 0, host: '127.0.0.1', log: pino({ level: 'silent' }), ready })
  t.after(() => server.close())
  const at = await server.listening
  assert.ok(at, 'listening')
  const base = `http://127.0.0.1:${at.port}`
  return (path: string) => fetch(`${base}${path}`)
}

test('the metrics port serves /metrics, /health/live, and /health/ready: 200 with PostgreSQL and Redis up', async (t) => {
  const { redis, metrics } = metricsOn(t)
  const db = openDb(t, process.env.DATABASE_URL!, 1)
  const get = await listen(t, metrics, () => checkReadiness(db, redis))
  const scraped = await get('/metrics')
  assert.equal(scraped.status, 200)
  assert.match(scraped.headers.get('content-type') ?? '', /^text\/plain/)
  assert.match(await scraped.text(), /^process_cpu_seconds_total\{service="consumer"\} /m)
  const live = await get('/health/live')
  assert.deepEqual([live.status, await live.json()], [200, { status: 'ok' }])
  const ready = await get('/health/ready')
  assert.deepEqual([ready.status, await ready.json()], [200, { status: 'ok', postgres: 'ok', redis: 'ok' }])
  assert.equal((await get('/nothing')).status, 404)
})

test('/health/ready answers 503 naming what is down when Redis or PostgreSQL is unreachable', async (t) => {
  const { redis, metrics } = metricsOn(t)
  const db = openDb(t, process.env.DATABASE_URL!, 1)
  const nowhereRedis = createRedis(`redis://127.0.0.1:${await freePort()}`)
  t.after(() => closeRedis(nowhereRedis))
  const nowhereDb = openDb(t, `postgres://postgres@127.0.0.1:${await freePort()}/tally`, 1)
  let probe = () => checkReadiness(db, nowhereRedis)
  const get = await listen(t, metrics, () => probe())
  const noRedis = await get('/health/ready')
  assert.deepEqual([noRedis.status, await noRedis.json()], [503, { status: 'down', postgres: 'ok', redis: 'down' }])
  probe = () => checkReadiness(nowhereDb, redis)
  const noPostgres = await get('/health/ready')
  assert.deepEqual([noPostgres.status, await noPostgres.json()], [503, { status: 'down', postgres: 'down', redis: 'ok' }])
  assert.equal((await get('/health/live')).status, 200, 'the process itself is up')
})

test('the progress line gives rates over the interval and the batch size on average', () => {
  const last = { entries: 1000, applied: 800, batches: 10, dead: 1 }
  const now = { entries: 3000, applied: 2600, batches: 20, dead: 4 }
  assert.deepEqual(progressSummary(last, now, 10), { appliedPerSecond: 180, entriesPerSecond: 200, avgBatch: 200, deadLetters: 3 })
  assert.equal(progressSummary(now, now, 10).avgBatch, 0, 'no batch, no average')
})
