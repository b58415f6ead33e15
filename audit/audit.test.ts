// The invariant behind `npm run audit`: it holds after real applies, it names the content whose
// maintained totals drift from its votes rows. The CLI itself (cli/audit.ts), as a process: test/audit-cli.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { applyVotes } from '../consumer/apply.js'
import { collapse } from '../consumer/collapse.js'
import { decodeEntry, type Vote } from '../consumer/decode.js'
import { emptyDatabase } from '../test/helpers.js'
import { GROUP, addVotes, isolatedPrefix, openDb, openRedis, seedContents, seedUsers } from '../test/consumer-helpers.js'
import { audit } from './audit.js'
import { redisKeys } from '../shared/redis/keys.js'

const vote = (entryId: string, userId: number, contentId: number, score: number): Vote =>
  decodeEntry('votes', [entryId, ['user', String(userId), 'content', String(contentId), 'score', String(score)]]) as Vote

/** An empty database with 3 users and 2 contents whose votes went through applyVotes. */
async function consistentWorld(t: Parameters<typeof emptyDatabase>[0]) {
  const url = await emptyDatabase(t)
  const db = openDb(t, url)
  const [u1, u2, u3] = await seedUsers(db, 3)
  const [a, b] = await seedContents(db, 2)
  await applyVotes(db, collapse([vote('1-0', u1!, a!, 5), vote('1-1', u2!, a!, 3), vote('1-2', u3!, b!, 1), vote('2-0', u1!, a!, 2)]))
  return { url, db, contents: [a!, b!] }
}

test('audit reports ok when every content\'s count and sum match its votes rows', async (t) => {
  const { db } = await consistentWorld(t)
  const redis = openRedis(t)
  const report = await audit(db, redis, redisKeys(isolatedPrefix()), GROUP)
  assert.equal(report.ok, true)
  assert.deepEqual(report.mismatches, [])
  assert.equal(report.counterOk, true)
  assert.deepEqual({ contents: report.contents, votes: report.votes }, { contents: 2, votes: 3 })
})

test('audit fails and names the content whose vote_count drifted from its votes rows', async (t) => {
  const { db, contents: [a, b] } = await consistentWorld(t)
  const redis = openRedis(t)
  await db.execute(sql`update contents set vote_count = vote_count + 1, votes_0 = votes_0 + 1 where id = ${b}`)
  const report = await audit(db, redis, redisKeys(isolatedPrefix()), GROUP)
  assert.equal(report.ok, false)
  assert.deepEqual(report.mismatches, [{
    id: b, vote_count: 2, vote_sum: 1, histogram: [1, 1, 0, 0, 0, 0], actual_count: 1, actual_sum: 1, actual_histogram: [0, 1, 0, 0, 0, 0],
  }])
  assert.ok(!report.mismatches.some((m) => m.id === a), 'the consistent content is not blamed')
})

test('audit names a content whose histogram moved a vote between scores, count and sum left as they were', async (t) => {
  const { db, contents: [a] } = await consistentWorld(t)
  const redis = openRedis(t)
  // Content a holds a 2 and a 3: one 2 → 1 and one 3 → 4 keeps the count and the sum.
  await db.execute(sql`update contents set votes_1 = votes_1 + 1, votes_2 = votes_2 - 1, votes_3 = votes_3 - 1, votes_4 = votes_4 + 1
    where id = ${a}`)
  const report = await audit(db, redis, redisKeys(isolatedPrefix()), GROUP)
  assert.equal(report.ok, false)
  assert.deepEqual(report.mismatches.map((m) => [m.id, m.histogram, m.actual_histogram]), [[a, [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0]]])
})

test('audit fails when the global histogram disagrees with the contents\' histograms', async (t) => {
  const { db } = await consistentWorld(t)
  const redis = openRedis(t)
  const ok = await audit(db, redis, redisKeys(isolatedPrefix()), GROUP)
  assert.deepEqual([ok.globalOk, ok.globalHistogram], [true, [0, 1, 1, 1, 0, 0]], 'the applies kept it: a 1, a 2 and a 3')
  await db.execute(sql`update score_totals set votes_5 = votes_5 + 1 where slot = (select min(slot) from score_totals)`)
  const report = await audit(db, redis, redisKeys(isolatedPrefix()), GROUP)
  assert.deepEqual({ ok: report.ok, globalOk: report.globalOk, mismatches: report.mismatches },
    { ok: false, globalOk: false, mismatches: [] })
})

test('audit fails when the contents counter disagrees with the number of contents', async (t) => {
  const { db } = await consistentWorld(t)
  const redis = openRedis(t)
  await db.execute(sql`update counters set value = value + 5 where name = 'contents'`)
  const report = await audit(db, redis, redisKeys(isolatedPrefix()), GROUP)
  assert.deepEqual({ ok: report.ok, counterOk: report.counterOk, mismatches: report.mismatches },
    { ok: false, counterOk: false, mismatches: [] })
})

test('audit reports the stream\'s length, pending and undelivered entries, and the dead letters', async (t) => {
  const { db } = await consistentWorld(t)
  const redis = openRedis(t)
  const keys = redisKeys(isolatedPrefix())
  const stream = keys.stream(0)
  const empty = await audit(db, redis, keys, GROUP)
  assert.deepEqual(empty.streams, [{ stream, length: 0, pending: 0, lag: null }], 'no stream yet: nothing to report')
  assert.equal(empty.deadLetters, 0)

  await addVotes(redis, stream, Array.from({ length: 5 }, (_, i) => ({ user: 1, content: 1, score: i })))
  await redis.xgroup('CREATE', stream, GROUP, '0')
  await redis.xreadgroup('GROUP', GROUP, 'reader', 'COUNT', 2, 'STREAMS', stream, '>')
  await redis.xadd(keys.deadLetters, '*', 'reason', 'bad_score')
  const report = await audit(db, redis, keys, GROUP)
  assert.deepEqual(report.streams, [{ stream, length: 5, pending: 2, lag: 3 }])
  assert.equal(report.deadLetters, 1)
})
