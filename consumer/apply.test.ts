// applyVotes against a real PostgreSQL: counts and sums move by exactly what changed, replays and
// out-of-order deliveries change nothing, unknown users/contents come back rejected, and concurrent
// batches over the same contents neither deadlock nor drift from the votes rows.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import { redisKeys } from '../shared/redis/keys.js'
import { emptyDatabase, waitFor } from '../test/helpers.js'
import {
  assertDbHolds, isolatedPrefix, lockWaiters, newestVotes, openDb, openRedis, seedContents, seedUsers, seededRandom, type Added,
} from '../test/consumer-helpers.js'
import { applyVotes } from './apply.js'
import { collapse } from './collapse.js'
import { decodeEntry, type Vote } from './decode.js'

const STREAM = 'tally:test:votes:{0}'
const NOWHERE = 2_000_000_000 // an id no identity sequence in a test database reaches

const vote = (entryId: string, userId: number, contentId: number, score: number): Vote =>
  decodeEntry(STREAM, [entryId, ['user', String(userId), 'content', String(contentId), 'score', String(score)]]) as Vote

async function totalsOf(db: ReturnType<typeof openDb>, contentId: number) {
  const [row] = await db.execute<{ vote_count: number; vote_sum: string }>(
    sql`select vote_count, vote_sum from contents where id = ${contentId}`)
  return { count: row!.vote_count, sum: Number(row!.vote_sum) }
}

async function scoreOf(db: ReturnType<typeof openDb>, userId: number, contentId: number) {
  const [row] = await db.execute<{ score: number }>(sql`select score from votes where user_id = ${userId} and content_id = ${contentId}`)
  return row?.score ?? null
}

test('new votes insert rows and add one to vote_count and their score to vote_sum', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!)
  const [alice, bob] = await seedUsers(db, 2)
  const [a, b] = await seedContents(db, 2)
  const result = await applyVotes(db, collapse([vote('1000-0', alice!, a!, 4), vote('1000-1', bob!, a!, 1), vote('1000-2', alice!, b!, 0)]))
  assert.deepEqual(result, { applied: 3, stale: 0, rejected: [] })
  assert.deepEqual(await totalsOf(db, a!), { count: 2, sum: 5 })
  assert.deepEqual(await totalsOf(db, b!), { count: 1, sum: 0 }, 'a score of 0 is a vote too')
  assert.equal(await scoreOf(db, alice!, a!), 4)
  assert.equal(await scoreOf(db, bob!, a!), 1)
})

test('a changed vote moves vote_sum by new minus old and leaves vote_count alone', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!)
  const [alice, bob] = await seedUsers(db, 2)
  const [a] = await seedContents(db, 1)
  await applyVotes(db, [vote('2000-0', alice!, a!, 2), vote('2000-1', bob!, a!, 5)])
  assert.deepEqual(await applyVotes(db, [vote('2001-0', alice!, a!, 5)]), { applied: 1, stale: 0, rejected: [] })
  assert.deepEqual(await totalsOf(db, a!), { count: 2, sum: 10 })
  await applyVotes(db, [vote('2002-0', bob!, a!, 0)])
  assert.deepEqual(await totalsOf(db, a!), { count: 2, sum: 5 }, 'lowering a vote to 0 takes its whole score off')
  assert.equal(await scoreOf(db, bob!, a!), 0)
})

test('the same batch applied twice changes nothing the second time', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!)
  const users = await seedUsers(db, 3)
  const [a, b] = await seedContents(db, 2)
  const batch = collapse(users.flatMap((u, i) => [vote(`3000-${i}`, u, a!, i + 1), vote(`3001-${i}`, u, b!, 5 - i)]))
  assert.deepEqual(await applyVotes(db, batch), { applied: 6, stale: 0, rejected: [] })
  const before = [await totalsOf(db, a!), await totalsOf(db, b!)]
  assert.deepEqual(await applyVotes(db, batch), { applied: 0, stale: 6, rejected: [] })
  assert.deepEqual([await totalsOf(db, a!), await totalsOf(db, b!)], before)
})

test('an older entry delivered after a newer one changes nothing (ids compare as numbers)', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!)
  const [alice] = await seedUsers(db, 1)
  const [a, b] = await seedContents(db, 2)
  await applyVotes(db, [vote('10-0', alice!, a!, 4), vote('1700000000000-12', alice!, b!, 3)])
  // "9-0" > "10-0" and "…-5" > "…-12" as strings; as stream ids both are older.
  assert.deepEqual(await applyVotes(db, [vote('9-0', alice!, a!, 1), vote('1700000000000-5', alice!, b!, 0)]),
    { applied: 0, stale: 2, rejected: [] })
  assert.equal(await scoreOf(db, alice!, a!), 4)
  assert.equal(await scoreOf(db, alice!, b!), 3)
  assert.deepEqual(await totalsOf(db, a!), { count: 1, sum: 4 })
  assert.deepEqual(await totalsOf(db, b!), { count: 1, sum: 3 })
})

test('votes naming a missing user or content are rejected with their reason while the rest apply', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!)
  const [alice] = await seedUsers(db, 1)
  const [a] = await seedContents(db, 1)
  const result = await applyVotes(db, collapse([
    vote('4000-0', alice!, a!, 3), vote('4000-1', NOWHERE, a!, 5), vote('4000-2', alice!, NOWHERE, 2),
  ]))
  assert.deepEqual({ applied: result.applied, stale: result.stale }, { applied: 1, stale: 0 })
  const reasons = Object.fromEntries(result.rejected.map((r) => [r.entryId, r.reason]))
  assert.deepEqual(reasons, { '4000-1': 'unknown_user', '4000-2': 'unknown_content' })
  const rejectedUser = result.rejected.find((r) => r.entryId === '4000-1')!
  assert.equal(rejectedUser.stream, STREAM)
  assert.deepEqual(rejectedUser.fields, ['user', String(NOWHERE), 'content', String(a), 'score', '5'],
    'the dead letter keeps what was voted')
  assert.deepEqual(await totalsOf(db, a!), { count: 1, sum: 3 })
})

test('a batch of only unknown users changes nothing and rejects every vote', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!)
  const [a] = await seedContents(db, 1)
  const result = await applyVotes(db, [vote('5000-0', NOWHERE, a!, 5), vote('5000-1', NOWHERE - 1, a!, 1)])
  assert.deepEqual({ applied: result.applied, stale: result.stale, reasons: result.rejected.map((r) => r.reason) },
    { applied: 0, stale: 0, reasons: ['unknown_user', 'unknown_user'] })
  assert.deepEqual(await totalsOf(db, a!), { count: 0, sum: 0 })
})

test('8 concurrent batches over the same 3 contents never deadlock and end equal to the newest votes', async (t) => {
  const url = await emptyDatabase(t)
  const db = openDb(t, url, 10)
  const redis = openRedis(t)
  const users = await seedUsers(db, 20)
  const contentIds = await seedContents(db, 3)
  const random = seededRandom(20_240_601)
  // 600 distinct entries, several per (user, content); each batch is an overlapping random subset.
  const all: Added[] = Array.from({ length: 600 }, (_, i) => ({
    id: `${6000 + Math.floor(i / 7)}-${i % 7}`, user: users[random(users.length)]!, content: contentIds[random(3)]!, score: random(6),
  }))
  const batches = Array.from({ length: 8 }, () => {
    const picked = all.filter(() => random(2) === 0)
    for (let i = picked.length - 1; i > 0; i--) {
      const j = random(i + 1)
      ;[picked[i], picked[j]] = [picked[j]!, picked[i]!]
    }
    return collapse(picked.map((a) => vote(a.id, a.user, a.content, a.score)))
  })
  // Every entry reaches the database at least once, whichever batch gets there.
  batches.push(collapse(all.map((a) => vote(a.id, a.user, a.content, a.score))))
  const results = await Promise.all(batches.map((b) => applyVotes(db, b)))
  assert.ok(results.every((r) => r.rejected.length === 0))
  const expected = newestVotes(all)
  assert.ok(results.reduce((n, r) => n + r.applied, 0) >= expected.size, 'every (user, content) was written at least once')
  await assertDbHolds(db, redis, redisKeys(isolatedPrefix()), contentIds, expected)
})

test('a vote changed by a batch that waited for another consumer to insert it moves the totals by new minus old', async (t) => {
  const url = await emptyDatabase(t)
  const db = openDb(t, url)
  const redis = openRedis(t)
  const [alice] = await seedUsers(db, 1)
  const [a] = await seedContents(db, 1)
  const waiting = (n: number) => waitFor(async () => (await lockWaiters(db)) >= n, { what: `${n} sessions waiting for a lock` })
  // Two consumers queue on the content's row while a third session holds it, so both statements take their
  // snapshot before either commits: the second sees the row the first inserted (5) only once it gets the lock.
  const holder = postgres(url, { max: 1, onnotice: () => {} })
  t.after(() => holder.end())
  await holder`begin`
  await holder`select id from contents where id = ${a!} for no key update`
  const first = applyVotes(db, [vote('9500-0', alice!, a!, 5)])
  await waiting(1)
  const second = applyVotes(db, [vote('9501-0', alice!, a!, 0)])
  await waiting(2)
  await holder`commit`
  assert.deepEqual(await first, { applied: 1, stale: 0, rejected: [] })
  assert.deepEqual(await second, { applied: 1, stale: 0, rejected: [] },
    'the newer vote is applied, not refused by contents_vote_sum_in_range')
  assert.deepEqual(await totalsOf(db, a!), { count: 1, sum: 0 })
  await assertDbHolds(db, redis, redisKeys(isolatedPrefix()), [a!], new Map([[`${alice}:${a}`, 0]]))
})

test('deleting a content deletes its votes; deleting a user deletes its votes and takes them off the totals', async (t) => {
  const url = await emptyDatabase(t)
  const db = openDb(t, url)
  const redis = openRedis(t)
  const [alice, bob] = await seedUsers(db, 2)
  const [a, b] = await seedContents(db, 2)
  await applyVotes(db, collapse([
    vote('7000-0', alice!, a!, 4), vote('7000-1', bob!, a!, 1), vote('7000-2', alice!, b!, 5), vote('7000-3', bob!, b!, 2),
  ]))
  await db.execute(sql`delete from contents where id = ${a}`)
  assert.deepEqual([...await db.execute(sql`select user_id from votes where content_id = ${a}`)], [], 'the content\'s votes went with it')
  await db.execute(sql`delete from users where id = ${alice}`)
  assert.equal(await scoreOf(db, alice!, b!), null, 'the user\'s votes went with it')
  assert.deepEqual(await totalsOf(db, b!), { count: 1, sum: 2 }, 'and left the content\'s totals')
  await assertDbHolds(db, redis, redisKeys(isolatedPrefix()), [b!], new Map([[`${bob}:${b}`, 2]]))
})

test('an apply racing a delete waits for it and dead-letters the vote, leaving no orphan row', async (t) => {
  const url = await emptyDatabase(t)
  const db = openDb(t, url)
  const [alice, bob] = await seedUsers(db, 2)
  const [a, b] = await seedContents(db, 2)
  const cases = [['contents', a!, '8000-0', 'unknown_content'], ['users', alice!, '8000-1', 'unknown_user']] as const
  for (const [table, id, entry, reason] of cases) {
    // The DELETE holds its row until COMMIT; the apply must wait for it (not read its own, older snapshot).
    const deleter = postgres(url, { max: 1, onnotice: () => {} })
    t.after(() => deleter.end())
    await deleter`begin`
    await deleter`delete from ${deleter(table)} where id = ${id}`
    const applying = applyVotes(db, [vote(entry, table === 'users' ? alice! : bob!, table === 'contents' ? a! : b!, 3)])
    await waitFor(async () => (await db.execute<{ n: number }>(sql`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`))[0]!.n > 0, { what: 'the apply to wait for the row lock' })
    await deleter`commit`
    const result = await applying
    assert.deepEqual({ applied: result.applied, reasons: result.rejected.map((r) => r.reason) }, { applied: 0, reasons: [reason] }, table)
  }
  assert.deepEqual([...await db.execute(sql`select * from votes`)], [], 'no vote names a deleted user or content')
})

test('a user delete that starts while an apply is under way waits for it and removes the new votes', async (t) => {
  const url = await emptyDatabase(t)
  const db = openDb(t, url)
  const redis = openRedis(t)
  const [alice, bob] = await seedUsers(db, 2)
  const [a] = await seedContents(db, 1)
  const waiting = (n: number) => waitFor(async () => (await lockWaiters(db)) >= n, { what: `${n} sessions waiting for a lock` })
  // A session holding the content's row keeps the apply under way (it holds its lock on votes) but unfinished.
  const holder = postgres(url, { max: 1, onnotice: () => {} })
  const deleter = postgres(url, { max: 1, onnotice: () => {} })
  t.after(() => Promise.all([holder.end(), deleter.end()]))
  await holder`begin`
  await holder`select id from contents where id = ${a!} for no key update`
  const applying = applyVotes(db, [vote('9000-0', alice!, a!, 4), vote('9000-1', bob!, a!, 1)])
  await waiting(1)
  const deleting = deleter`delete from users where id = ${alice!}`.execute()
  await waiting(2)
  await holder`commit`
  assert.deepEqual(await applying, { applied: 2, stale: 0, rejected: [] }, 'the user still existed when the apply began')
  await deleting
  await assertDbHolds(db, redis, redisKeys(isolatedPrefix()), [a!], new Map([[`${bob}:${a}`, 1]]))
})
