// Faults around the consumer: killed mid-batch, PostgreSQL away, trimming beside pending entries,
// and entries delivered too often. Every test ends with the database equal to the stream's newest votes.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { migrateDatabase } from '../shared/db/migrate.js'
import { redisKeys } from '../shared/redis/keys.js'
import { withDatabase } from './databases.js'
import { uniqueName, waitFor } from './helpers.js'
import { freePort } from '../devtools/ports.js'
import { throwawayPostgres } from './throwaway.js'
import { stopProcess } from './processes.js'
import {
  consumerWorld, GROUP, addVotes, assertDbHolds, deadLetters, groupState, isolatedPrefix, newestVotes, openDb, openRedis, pendingOf,
  seedContents, seedUsers, startConsumer, victimMidBatch, waitForDrained,
} from './consumer-helpers.js'

test('a consumer SIGKILLed in the middle of a batch loses nothing: another claims the batch and applies it', async (t) => {
  const world = await consumerWorld(t, 10, 2)
  const { url, prefix, keys, stream, db, redis, contentIds } = world
  const { added, victim, release } = await victimMidBatch(t, world, 300)
  assert.equal(await stopProcess(victim, 'SIGKILL'), null)
  const [row] = await db.execute<{ n: number }>(sql`select count(*)::int as n from votes`)
  assert.equal(row!.n, 0, 'nothing was committed')
  await release()

  startConsumer(t, url, prefix)
  await waitForDrained(redis, stream)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes(added))
  assert.deepEqual(await pendingOf(redis, stream, victim.name), [], 'the dead consumer holds nothing any more')
  assert.deepEqual(await deadLetters(redis, keys), [], 'a second delivery is not "too many"')
})

test('with the default CONSUMER_CLAIM_IDLE_MS, a SIGKILLed consumer\'s batch is applied by a live one within 5 s', async (t) => {
  const world = await consumerWorld(t, 20, 20)
  const { url, prefix, keys, stream, db, redis, contentIds } = world
  // '' is "not set": the default idle time, not the tests' short one.
  const defaults = { CONSUMER_CLAIM_IDLE_MS: '' }
  const { added, victim, release } = await victimMidBatch(t, world, 500, defaults)
  const survivor = startConsumer(t, url, prefix, defaults)
  // Up and reading: its read connection waits in XREADGROUP (a consumer that has read nothing yet is not in XINFO CONSUMERS).
  const isReading = (l: string) => l.includes(`name=tally-consumer:${survivor.name}:read `) && l.includes('cmd=xreadgroup')
  await waitFor(async () => String(await redis.call('CLIENT', 'LIST')).split('\n').some(isReading), { what: 'the survivor to be reading' })
  assert.equal(await stopProcess(victim, 'SIGKILL'), null)
  const killedAt = Date.now()
  await release()
  await waitForDrained(redis, stream, 20_000)
  const tookMs = Date.now() - killedAt
  t.diagnostic(`the dead consumer's ${added.length} entries were applied ${tookMs} ms after the SIGKILL`)
  assert.ok(tookMs < 5000, `taken over and applied after ${tookMs} ms`)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes(added))
  assert.deepEqual(await pendingOf(redis, stream, victim.name), [])
  assert.equal(survivor.child.exitCode, null)
})

test('a consumer restarted under its name takes back its predecessor\'s pending batch at once, ' +
  'long before the claim idle time', async (t) => {
  const world = await consumerWorld(t, 20, 20)
  const { url, prefix, keys, stream, db, redis, contentIds } = world
  // An idle time no test waits out: only taking back its own entries can apply them in time.
  const env = { CONSUMER_NAME: uniqueName('slot'), CONSUMER_CLAIM_IDLE_MS: '600000' }
  const { added, victim, release } = await victimMidBatch(t, world, 300, env)
  assert.equal(await stopProcess(victim, 'SIGKILL'), null)
  await release()
  const successor = startConsumer(t, url, prefix, { ...env, LOG_LEVEL: 'info' })
  await waitForDrained(redis, stream, 20_000)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes(added))
  assert.match(successor.output(), /taking back the entries an earlier process of this name left pending/)
  assert.deepEqual(await deadLetters(redis, keys), [], 'one more delivery is not "too many"')
})

/** A PostgreSQL of the test's own (so it can be stopped), migrated and seeded, with a consumer that has applied a first few votes. */
async function outageWorld(t: TestContext) {
  const pg = await throwawayPostgres(t)
  const url = withDatabase(pg.url, 'tally')
  await migrateDatabase(url)
  const prefix = isolatedPrefix()
  const keys = redisKeys(prefix)
  const stream = keys.stream(0)
  const db = openDb(t, url)
  const redis = openRedis(t)
  const users = await seedUsers(db, 5)
  const contentIds = await seedContents(db, 2)
  const vote = (i: number) => ({ user: users[i % users.length]!, content: contentIds[i % 2]!, score: i % 6 })
  const consumer = startConsumer(t, url, prefix)
  const before = await addVotes(redis, stream, [0, 1, 2].map(vote))
  await waitForDrained(redis, stream)
  const retries = () => consumer.output().split('\n').filter((l) => l.includes('apply failed; retrying')).length
  return { pg, url, prefix, keys, stream, db, redis, contentIds, vote, consumer, before, retries }
}

test('while PostgreSQL is unreachable votes stay pending, and once it is back every one is applied', async (t) => {
  const { pg, keys, stream, db, redis, contentIds, vote, consumer, before, retries } = await outageWorld(t)
  await pg.stop()
  const during = await addVotes(redis, stream, Array.from({ length: 40 }, (_, i) => vote(i + 7)))
  // "For a while": until the consumer has failed to apply several times. Meanwhile no entry is acked:
  // each is pending (delivered, in the batch being retried) or not yet delivered.
  const state = await waitFor(async () => {
    const s = (await groupState(redis, stream))!
    assert.equal(s.pending + (s.lag ?? 0), during.length, `nothing acked: pending ${s.pending} + undelivered ${s.lag}`)
    return s.pending > 0 && retries() >= 3 ? s : null
  }, { timeoutMs: 20_000, what: 'the consumer to retry with the batch pending' })
  assert.equal((await pendingOf(redis, stream, consumer.name)).length, state!.pending, 'the pending entries are the consumer\'s')

  await pg.start()
  await waitForDrained(redis, stream, 30_000)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes([...before, ...during]))
  assert.equal(consumer.child.exitCode, null, 'the consumer rode out the outage')
})

test('a consumer waiting out a PostgreSQL outage keeps its batch: an idle one neither takes it over nor dead-letters it', async (t) => {
  const { pg, url, prefix, keys, stream, db, redis, contentIds, vote, consumer, before, retries } = await outageWorld(t)
  await pg.stop()
  const during = await addVotes(redis, stream, Array.from({ length: 20 }, (_, i) => vote(i + 3)))
  await waitFor(async () => (await pendingOf(redis, stream, consumer.name)).length === during.length && retries() >= 1,
    { timeoutMs: 20_000, what: 'the first consumer retrying with every new vote in hand' })
  // A consumer with nothing to do looks for stale entries every 250 ms and takes those idle 500 ms; with
  // CONSUMER_MAX_DELIVERIES=1 a taken-over entry would be dead-lettered at once, never applied.
  const idle = startConsumer(t, url, prefix, { CONSUMER_MAX_DELIVERIES: '1' })
  await waitFor(() => retries() >= 6, { timeoutMs: 20_000, what: 'an outage several claim periods long' })
  assert.equal((await pendingOf(redis, stream, consumer.name)).length, during.length, 'the batch stayed with the live consumer')
  assert.deepEqual(await pendingOf(redis, stream, idle.name), [])

  await pg.start()
  await waitForDrained(redis, stream, 30_000)
  assert.deepEqual(await deadLetters(redis, keys), [])
  await assertDbHolds(db, redis, keys, contentIds, newestVotes([...before, ...during]))
})

test('SIGTERM during a PostgreSQL outage exits 0 without acking, and the next consumer applies the batch', async (t) => {
  const { pg, url, prefix, keys, stream, db, redis, contentIds, vote, consumer, before, retries } = await outageWorld(t)
  await pg.stop()
  const during = await addVotes(redis, stream, Array.from({ length: 40 }, (_, i) => vote(i + 7)))
  await waitFor(async () => (await groupState(redis, stream))!.pending > 0 && retries() >= 1, { timeoutMs: 20_000, what: 'a failed apply' })
  // Exit 0, not 1: the retry's back-off gives way to the signal instead of running into the grace timeout.
  assert.equal(await stopProcess(consumer, 'SIGTERM'), 0, consumer.output())
  const left = (await groupState(redis, stream))!
  assert.ok(left.pending > 0, 'the unapplied batch is still pending')
  assert.equal(left.pending + (left.lag ?? 0), during.length, 'nothing was acked without a commit')

  await pg.start()
  startConsumer(t, url, prefix)
  await waitForDrained(redis, stream, 30_000)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes([...before, ...during]))
})

test('trimming never removes a pending or undelivered entry', async (t) => {
  const redis = openRedis(t)
  const stream = `${isolatedPrefix()}votes:{0}`
  const group = 'g'
  const ids = (await addVotes(redis, stream, Array.from({ length: 250 }, (_, i) => ({ user: 1, content: 1, score: i % 6 }))))
    .map((a) => a.id)
  await redis.xgroup('CREATE', stream, group, '0')
  // A fake consumer takes the first 200 and acks the oldest 150; 50 stay pending, 50 are never delivered.
  await redis.xreadgroup('GROUP', group, 'fake', 'COUNT', 200, 'STREAMS', stream, '>')
  await redis.xack(stream, group, ...ids.slice(0, 150))
  assert.equal(await redis.trimAcked(stream), ids[150], 'the threshold is the oldest pending entry')
  const left = new Set((await redis.xrange(stream, '-', '+')).map(([id]) => id))
  const missing = ids.slice(150).filter((id) => !left.has(id))
  assert.deepEqual(missing, [], 'every pending and undelivered entry is still there')
  assert.ok(left.size < 250, `acked entries below the oldest pending are trimmed (${left.size} left)`)

  // Everything acked: the threshold moves past the last delivered entry, never past an undelivered one.
  await redis.xack(stream, group, ...ids.slice(150, 200))
  assert.equal(await redis.trimAcked(stream), ids[199]!.replace(/-(\d+)$/, (_, seq: string) => `-${Number(seq) + 1}`))
  const after = new Set((await redis.xrange(stream, '-', '+')).map(([id]) => id))
  assert.deepEqual(ids.slice(200).filter((id) => !after.has(id)), [], 'undelivered entries stay')
})

test('a second group that has read nothing keeps every entry from being trimmed', async (t) => {
  const redis = openRedis(t)
  const stream = `${isolatedPrefix()}votes:{0}`
  const ids = (await addVotes(redis, stream, Array.from({ length: 250 }, () => ({ user: 1, content: 1, score: 1 })))).map((a) => a.id)
  await redis.xgroup('CREATE', stream, 'fast', '0')
  await redis.xgroup('CREATE', stream, 'slow', '0')
  await redis.xreadgroup('GROUP', 'fast', 'c', 'COUNT', 250, 'STREAMS', stream, '>')
  await redis.xack(stream, 'fast', ...ids)
  assert.equal(await redis.trimAcked(stream), '0-0')
  assert.equal(await redis.xlen(stream), 250)
})

test('trimming a stream with no group, or no stream at all, removes nothing and returns 0-0', async (t) => {
  const redis = openRedis(t)
  const stream = `${isolatedPrefix()}votes:{0}`
  assert.equal(await redis.trimAcked(stream), '0-0', 'no stream')
  await addVotes(redis, stream, [{ user: 1, content: 1, score: 1 }, { user: 2, content: 1, score: 2 }])
  assert.equal(await redis.trimAcked(stream), '0-0', 'no group')
  assert.equal(await redis.xlen(stream), 2)
  const empty = `${isolatedPrefix()}votes:{0}`
  await redis.xgroup('CREATE', empty, GROUP, '0', 'MKSTREAM')
  assert.equal(await redis.trimAcked(empty), '0-0', 'an empty stream with a group')
})

test('an entry delivered more than CONSUMER_MAX_DELIVERIES times is dead-lettered as max_deliveries and acked', async (t) => {
  const { url, prefix, keys, stream, db, redis, users, contentIds } = await consumerWorld(t, 2, 1)
  const [ann, ben] = users
  const [content] = contentIds
  const [tired] = await addVotes(redis, stream, [{ user: ann!, content: content!, score: 5 }])
  await redis.xgroup('CREATE', stream, GROUP, '0')
  // A consumer that keeps failing: delivered once, then claimed twice more (each XCLAIM counts a delivery).
  const ghost = uniqueName('ghost')
  await redis.xreadgroup('GROUP', GROUP, ghost, 'COUNT', 1, 'STREAMS', stream, '>')
  for (let i = 0; i < 2; i++) await redis.xclaim(stream, GROUP, ghost, 0, tired!.id)
  const fresh = await addVotes(redis, stream, [{ user: ben!, content: content!, score: 1 }])

  startConsumer(t, url, prefix, { CONSUMER_MAX_DELIVERIES: '3', CONSUMER_CLAIM_IDLE_MS: '200' })
  await waitForDrained(redis, stream)
  const dead = await deadLetters(redis, keys)
  assert.deepEqual(dead.map((d) => ({ entry: d.entry, reason: d.reason, user: d.user })),
    [{ entry: tired!.id, reason: 'max_deliveries', user: String(ann) }])
  assert.deepEqual(await pendingOf(redis, stream, ghost), [])
  await assertDbHolds(db, redis, keys, [content!], newestVotes(fresh))
})

test('a consumer stopped while Redis is unreachable exits 0 at once instead of waiting out its grace period', async (t) => {
  const nowhere = `redis://127.0.0.1:${await freePort()}`
  const consumer = startConsumer(t, process.env.DATABASE_URL!, isolatedPrefix(),
    { REDIS_URL: nowhere, SHUTDOWN_GRACE_MS: '60000', LOG_LEVEL: 'info' })
  await waitFor(() => consumer.output().includes('cannot create the consumer group yet'),
    { timeoutMs: 20_000, what: 'the consumer to retry' })
  assert.equal(await stopProcess(consumer, 'SIGTERM', 10_000), 0, consumer.output())
  assert.match(consumer.output(), /consumer stopped/)
})
