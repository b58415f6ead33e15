// runLoop in this process on a real Redis and PostgreSQL: what it applies, acks, dead-letters and
// trims, how it gets over a lost group, and what it leaves behind when it stops.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { pino } from 'pino'
import { uniqueName, waitFor } from '../test/helpers.js'
import {
  addVotes, assertDbHolds, consumerWorld, deadLetters, GROUP, groupState, newestVotes, openDb, openRedis, pendingOf, randomVotes,
  seededRandom, waitForDrained,
} from '../test/consumer-helpers.js'
import { sampleOf } from '../test/metrics-text.js'
import { audit, formatReport } from '../audit/audit.js'
import { setBaselines } from '../audit/ledger-check.js'
import { applyVotes } from './apply.js'
import { collapse } from './collapse.js'
import { decodeAll, type StreamEntry } from './decode.js'
import { ledgerFor } from './ledger.js'
import { runLoop } from './loop.js'
import { createConsumerMetrics } from './metrics.js'
import { ensureGroup, type StreamSettings } from './stream.js'

type World = Awaited<ReturnType<typeof consumerWorld>>

/** runLoop on the world's stream, stopped (aborted and awaited) when the test ends; its warnings are kept. */
function startLoop(t: TestContext, world: World, over: Partial<StreamSettings> = {}, lanes = 1) {
  const settings: StreamSettings = {
    group: GROUP, consumer: uniqueName('loop'), batchSize: 100, blockMs: 50, lingerMs: 0, claimIdleMs: 200, maxDeliveries: 5,
    deadLetters: world.keys.deadLetters, deadLetterMaxLen: 1000, ...over,
  }
  const warnings: string[] = []
  const log = pino({ level: 'warn' }, { write: (line: string) => { warnings.push(JSON.parse(line).msg) } })
  const controller = new AbortController()
  const metrics = createConsumerMetrics({ redis: world.redis, streams: [world.stream], group: GROUP, deadLetters: world.keys.deadLetters })
  const done = runLoop({
    db: world.db, redis: world.redis, blocking: openRedis(t), streams: [world.stream], readChangesChannel: world.keys.readChanges,
    settings, metrics, log, signal: controller.signal, claimIntervalMs: 100, trimIntervalMs: 200, lanes,
  })
  const stop = async () => { controller.abort(); await done }
  t.after(stop)
  return { settings, metrics, warnings, stop }
}

test('votes are applied and acked: the database holds the newest per (user, content), ' +
  'poison goes to the dead letters with its reason', async (t) => {
  const world = await consumerWorld(t, 20, 3)
  const { redis, stream, keys, db, users, contentIds } = world
  const good = await addVotes(redis, stream, randomVotes(seededRandom(7), users, contentIds, 500))
  const badScore = await redis.xadd(stream, '*', 'user', String(users[0]), 'content', String(contentIds[0]), 'score', '7')
  const unknownContent = await redis.xadd(stream, '*', 'user', String(users[0]), 'content', '2000000000', 'score', '3')
  const { metrics } = startLoop(t, world)
  await waitForDrained(redis, stream)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes(good))
  assert.deepEqual((await deadLetters(redis, keys)).map((d) => [d.entry, d.reason]),
    [[badScore, 'bad_score'], [unknownContent, 'unknown_content']])

  const text = await metrics.registry.metrics()
  assert.equal(sampleOf(text, 'tally_consumer_entries_total'), good.length + 2)
  assert.equal(sampleOf(text, 'tally_dead_letters_total', { reason: 'bad_score' }), 1)
  assert.equal(sampleOf(text, 'tally_dead_letters_total', { reason: 'unknown_content' }), 1)
  // One accept-to-apply observation per vote a COMMIT wrote: the applied ones and the stale ones, not the rejected.
  const written = sampleOf(text, 'tally_votes_applied_total')! + sampleOf(text, 'tally_votes_stale_total')!
  assert.ok(written >= newestVotes(good).size && written <= good.length,
    `each batch writes its newest vote per (user, content): ${written}`)
  assert.equal(sampleOf(text, 'tally_vote_accept_to_apply_seconds_count'), written)
})

test('entries taken over after more than maxDeliveries deliveries are dead-lettered as max_deliveries, ' +
  'the others taken over are applied', async (t) => {
  const world = await consumerWorld(t, 2, 1)
  const { redis, stream, keys, db, users: [ann, ben], contentIds: [content] } = world
  const [tired, fresh] = await addVotes(redis, stream,
    [{ user: ann!, content: content!, score: 5 }, { user: ben!, content: content!, score: 2 }])
  await ensureGroup(redis, stream, GROUP)
  // A consumer that died with both: the first already delivered 3 times, the second once.
  await redis.xreadgroup('GROUP', GROUP, 'ghost', 'COUNT', 2, 'STREAMS', stream, '>')
  for (let i = 0; i < 2; i++) await redis.xclaim(stream, GROUP, 'ghost', 0, tired!.id)
  const { metrics } = startLoop(t, world, { maxDeliveries: 3 })
  await waitForDrained(redis, stream)
  assert.deepEqual((await deadLetters(redis, keys)).map((d) => [d.entry, d.reason]), [[tired!.id, 'max_deliveries']])
  await assertDbHolds(db, redis, keys, [content!], newestVotes([fresh!]))
  assert.deepEqual(await pendingOf(redis, stream, 'ghost'), [])
  assert.equal(metrics.totals().dead, 1)
  const text = await metrics.registry.metrics()
  assert.deepEqual([sampleOf(text, 'tally_consumer_claims_total'), sampleOf(text, 'tally_consumer_redeliveries_total')], [1, 2],
    'one takeover of two entries')
  assert.equal(sampleOf(text, 'tally_dead_letters_total', { reason: 'max_deliveries' }), 1)
})

test('a vote PostgreSQL refuses is dead-lettered as apply_failed_<SQLSTATE> while the rest of its batch is applied', async (t) => {
  const world = await consumerWorld(t, 10, 1)
  const { redis, stream, keys, db, users, contentIds: [content] } = world
  // This test's own database refuses a score of 3: a stand-in for any row PostgreSQL turns down.
  await db.execute(sql`alter table votes add constraint test_refuses_three check (score <> 3)`)
  const added = await addVotes(redis, stream, users.map((user, i) => ({ user, content: content!, score: i % 6 })))
  startLoop(t, world)
  await waitForDrained(redis, stream)
  const refused = added.filter((a) => a.score === 3)
  assert.deepEqual((await deadLetters(redis, keys)).map((d) => [d.entry, d.reason]).sort(),
    refused.map((a) => [a.id, 'apply_failed_23514']).sort())
  await assertDbHolds(db, redis, keys, [content!], newestVotes(added.filter((a) => a.score !== 3)))
})

test('a stream and group lost under a running loop (Redis lost its data) are made again, ' +
  'and the votes cast since are applied', async (t) => {
  const world = await consumerWorld(t, 5, 2)
  const { redis, stream, keys, db, users, contentIds } = world
  const before = await addVotes(redis, stream, randomVotes(seededRandom(3), users, contentIds, 20))
  const { warnings } = startLoop(t, world)
  await waitForDrained(redis, stream)
  await redis.del(stream)
  const after = await addVotes(redis, stream, randomVotes(seededRandom(4), users, contentIds, 20))
  await waitFor(() => warnings.includes('consumer group missing (redis lost its data?): creating it again'),
    { what: 'the loop to see NOGROUP' })
  await waitForDrained(redis, stream)
  // The audit says what happened: PostgreSQL recorded the 20 entries of the stream's first life besides the 20 of its second.
  const report = await audit(db, redis, keys, GROUP)
  assert.equal(report.ledgerOk, false)
  assert.equal(report.ledger[0]!.unaccounted, -before.length)
  assert.match(formatReport(report), /REDIS LOST ITS DATA at or before \d{4}-\d\d-\d\dT/)
  // Looked into: the operator accepts the new start, and every invariant holds again.
  await setBaselines(db, redis, [stream], GROUP)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes([...before, ...after]))
})

test('with three lanes, a backlog read in small batches is applied exactly: ' +
  'the newest vote per (user, content), totals and ledger agree', async (t) => {
  const world = await consumerWorld(t, 30, 8)
  const { redis, stream, keys, db, users, contentIds } = world
  // Few contents, many batches: batches in flight at once keep locking the same rows and committing out of order.
  const votes = await addVotes(redis, stream, randomVotes(seededRandom(31), users, contentIds, 3000))
  const { warnings } = startLoop(t, world, { batchSize: 25 }, 3)
  await waitForDrained(redis, stream)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes(votes))
  // Every entry recorded once by the ledger, although its batches committed in no particular order.
  const report = await audit(db, redis, keys, GROUP)
  assert.deepEqual(report.ledger.map((l) => [l.added, l.recorded]), [[3000, 3000]])
  assert.deepEqual(warnings, [])
})

test('with two lanes, a batch waiting on a row lock does not hold up the next batch; both are applied once the lock goes', async (t) => {
  const world = await consumerWorld(t, 10, 4)
  const { redis, stream, keys, db, users, contentIds } = world
  const [held, ...free] = contentIds as [number, ...number[]]
  // Someone else holds the first content's row (a long transaction, an operator's UPDATE) until told to stop.
  const other = openDb(t, world.url, 1)
  let letGo!: () => void
  const released = new Promise<void>((resolve) => { letGo = resolve })
  let locked!: () => void
  const isLocked = new Promise<void>((resolve) => { locked = resolve })
  const holder = other.transaction(async (tx) => {
    await tx.execute(sql`select id from contents where id = ${held} for update`)
    locked()
    await released
  })
  t.after(() => { letGo(); return holder })
  await isLocked
  const first = await addVotes(redis, stream, users.map((user) => ({ user, content: held, score: 3 })))
  const second = await addVotes(redis, stream, users.map((user, i) => ({ user, content: free[i % free.length]!, score: 4 })))
  startLoop(t, world, { batchSize: 10 }, 2)
  const count = async (ids: number[]) =>
    (await db.execute<{ n: number }>(sql`select count(*)::int as n from votes where content_id = any(${sql.param(ids)}::int[])`))[0]!.n
  await waitFor(async () => (await count(free)) === second.length, { what: 'the second batch applied while the first waits' })
  assert.equal(await count([held]), 0, 'the first batch is still waiting for the row')
  letGo()
  await holder
  await waitForDrained(redis, stream)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes([...first, ...second]))
})

test('stopped in the middle of a backlog, the loop returns with nothing pending: every batch in hand is finished and acked', async (t) => {
  const world = await consumerWorld(t, 20, 4)
  const { redis, stream, db, users, contentIds } = world
  await addVotes(redis, stream, randomVotes(seededRandom(11), users, contentIds, 5000))
  const { stop } = startLoop(t, world, { batchSize: 10 }, 2)
  await waitFor(async () => (await db.execute<{ n: number }>(sql`select count(*)::int as n from votes`))[0]!.n > 0,
    { what: 'a first batch applied' })
  await stop()
  const state = (await groupState(redis, stream))!
  assert.equal(state.pending, 0, 'every delivered entry was acked')
  assert.ok((state.lag ?? 0) > 0, 'it stopped before the end of the backlog')
})

test('acked entries are trimmed from the stream while the loop runs', async (t) => {
  const world = await consumerWorld(t, 5, 1)
  const { redis, stream, users, contentIds } = world
  await addVotes(redis, stream, randomVotes(seededRandom(5), users, contentIds, 50))
  startLoop(t, world)
  await waitForDrained(redis, stream)
  await waitFor(async () => (await redis.xlen(stream)) === 0, { what: 'the acked entries to be trimmed' })
})

test('entries deleted from the stream before they were applied are caught by the audit, by number and stream', async (t) => {
  const world = await consumerWorld(t, 10, 10)
  const { redis, stream, keys, db, users, contentIds } = world
  await ensureGroup(redis, stream, GROUP)
  const added = await addVotes(redis, stream, randomVotes(seededRandom(21), users, contentIds, 200))
  // 37 of them vanish before any consumer reads them (an XDEL, a trim gone wrong, a lost AOF tail).
  const deleted = added.filter((_, i) => i % 5 === 1).slice(0, 37)
  assert.equal(await redis.xdel(stream, ...deleted.map((a) => a.id)), 37)
  startLoop(t, world)
  await waitForDrained(redis, stream)
  const report = await audit(db, redis, keys, GROUP)
  assert.equal(report.ok, false)
  assert.deepEqual(report.ledger.map((l) => [l.stream, l.added, l.recorded, l.unaccounted]), [[stream, 200, 163, 37]])
  assert.match(formatReport(report), new RegExp(`ledger ${stream.replace(/[{}]/g, '\\$&')}: took 200; recorded 163.*: 37 entries UNACCOUNTED FOR`))
  // The totals themselves are consistent: only the ledger shows what is missing.
  assert.deepEqual(report.mismatches, [])
})

test('a batch committed by a consumer that died before its XACK is counted once, when another takes it over and acks it', async (t) => {
  const world = await consumerWorld(t, 10, 10)
  const { redis, stream, keys, db, users, contentIds } = world
  await ensureGroup(redis, stream, GROUP)
  const added = await addVotes(redis, stream, randomVotes(seededRandom(22), users, contentIds, 120))
  // The ghost reads them all, commits them with their ledger entry, and dies before XACK.
  const ghost = uniqueName('ghost')
  const read = await redis.xreadgroup('GROUP', GROUP, ghost, 'COUNT', 1000, 'STREAMS', stream, '>') as [string, [string, string[]][]][]
  const batch = { stream, entries: read[0]![1] as unknown as StreamEntry[] }
  const votes = collapse(decodeAll(stream, batch.entries).votes)
  await applyVotes(db, votes, ledgerFor(batch, ghost))
  const midway = await audit(db, redis, keys, GROUP)
  assert.deepEqual(midway.ledger.map((l) => [l.recorded, l.pending, l.recordedPending, l.unaccounted]), [[120, 120, 120, 0]],
    'recorded and still pending: counted once')
  startLoop(t, world)
  await waitForDrained(redis, stream)
  const [row] = await db.execute<{ recorded: string }>(sql`select sum(recorded)::text as recorded from stream_entries`)
  assert.equal(Number(row!.recorded), 120, 'the replay recorded nothing twice')
  await assertDbHolds(db, redis, keys, contentIds, newestVotes(added))
})
