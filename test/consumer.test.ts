// The whole path with real consumer processes: API → Redis stream → consumer group → PostgreSQL,
// several consumers racing on the same contents, poison entries, and a clean stop on SIGTERM.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import type { Redis } from 'ioredis'
import { bearer, buildTestApp, createContent, registerUser, waitFor } from './helpers.js'
import { freePort } from '../devtools/ports.js'
import { stopProcess } from './processes.js'
import {
  consumerWorld, randomVotes, GROUP, addVotes, assertDbHolds, deadLetters, groupState, isolatedPrefix, newestVotes,
  seededRandom, startConsumer, toRecord, waitForDrained,
} from './consumer-helpers.js'

async function consumersInGroup(redis: Redis, stream: string): Promise<{ name: string; pending: number }[]> {
  const rows = (await redis.xinfo('CONSUMERS', stream, GROUP)) as unknown[][]
  return rows.map(toRecord).map((c) => ({ name: String(c.name), pending: Number(c.pending) }))
}

test('votes cast through the API reach PostgreSQL and show in the content detail with the voter\'s own score', async (t) => {
  const prefix = isolatedPrefix()
  const url = process.env.DATABASE_URL!
  const app = await buildTestApp(t, { REDIS_PREFIX: prefix, VOTE_THRESHOLD_COUNT_LIMIT: '1000000' })
  const [ann, ben, cat] = [await registerUser(app), await registerUser(app), await registerUser(app)]
  const content = await createContent(app)
  const cast = async (token: string, score: number) => {
    const res = await app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(token), payload: { content: content.id, score } })
    assert.equal(res.statusCode, 202)
  }
  await cast(ann.access, 5)
  await cast(ben.access, 2)
  await cast(ann.access, 3) // Ann changes her mind: her newest vote counts, once
  await cast(cat.access, 4)
  startConsumer(t, url, prefix)
  await waitForDrained(app.redis, app.keys.stream(0))

  const detail = await app.inject({ url: `/api/contents/${content.id}/`, headers: bearer(ann.access) })
  assert.equal(detail.statusCode, 200)
  assert.deepEqual({ count: detail.json().vote_count, average: detail.json().average_vote, mine: detail.json().user_vote },
    { count: 3, average: 3, mine: 3 })
  assert.equal((await app.inject({ url: `/api/contents/${content.id}/`, headers: bearer(cat.access) })).json().user_vote, 4)
  assert.equal((await app.inject({ url: `/api/contents/${content.id}/` })).json().user_vote, null, 'anonymous readers have no score')
  const listed = (await app.inject({ url: '/api/contents/?page_size=100', headers: bearer(ben.access) })).json()
    .results.find((c: { id: number }) => c.id === content.id)
  assert.deepEqual({ count: listed.vote_count, average: listed.average_vote, mine: listed.user_vote }, { count: 3, average: 3, mine: 2 })
})

test('four consumers racing over 5000 votes on 3 contents share the work and store exactly the newest vote per user', async (t) => {
  const { url, prefix, keys, stream, db, redis, users, contentIds } = await consumerWorld(t, 50, 3)
  const ports = await Promise.all([1, 2, 3, 4].map(() => freePort()))
  const consumers = ports.map((port) => startConsumer(t, url, prefix, { CONSUMER_BATCH_SIZE: '100', CONSUMER_METRICS_PORT: String(port) }))
  // All four are up (metrics answer) and the group exists before the first vote arrives, so they race for the votes.
  const scrape = (port: number) => waitFor(async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), { timeoutMs: 20_000, what: `metrics on ${port}` })
  await Promise.all(ports.map(scrape))
  await waitFor(() => groupState(redis, stream), { what: 'the consumer group' })

  const random = seededRandom(5000)
  const added = await addVotes(redis, stream, Array.from({ length: 5000 }, () => ({
    user: users[random(users.length)]!, content: contentIds[random(contentIds.length)]!, score: random(6),
  })))
  await waitForDrained(redis, stream, 30_000)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes(added))
  assert.equal((await groupState(redis, stream))!.pending, 0)
  assert.deepEqual(await deadLetters(redis, keys), [], 'no vote was dead-lettered')

  // Each consumer's own metrics say how many entries it processed: more than one did some.
  const processed = await Promise.all(ports.map(async (port) => {
    const body = await scrape(port)
    return Number(/^tally_consumer_entries_total (\d+)$/m.exec(body)?.[1] ?? 0)
  }))
  assert.ok(processed.reduce((a, b) => a + b, 0) >= 5000, `every entry was processed: ${processed}`)
  assert.ok(processed.filter((n) => n > 0).length >= 2, `the work was split between consumers: ${processed}`)
  for (const c of consumers) assert.equal(c.child.exitCode, null, `consumer ${c.name} is still running:\n${c.output()}`)
})

test('a poison entry goes to the dead-letter stream with its reason while its batch-mates are applied', async (t) => {
  const { url, prefix, keys, stream, db, redis, users, contentIds } = await consumerWorld(t, 2, 1)
  const [ann, ben] = users
  const [content] = contentIds
  const good = await addVotes(redis, stream, [{ user: ann!, content: content!, score: 4 }])
  const missingScore = await redis.xadd(stream, '*', 'user', String(ann), 'content', String(content), 'ts', '1')
  const scoreNine = await redis.xadd(stream, '*', 'user', String(ben), 'content', String(content), 'score', '9', 'ts', '1')
  const unknownUser = await redis.xadd(stream, '*', 'user', '999999', 'content', String(content), 'score', '3', 'ts', '1')
  good.push(...await addVotes(redis, stream, [{ user: ben!, content: content!, score: 2 }]))

  const consumer = startConsumer(t, url, prefix)
  await waitForDrained(redis, stream)
  const dead = await deadLetters(redis, keys)
  const byEntry = (a: { entry?: string | null }, b: { entry?: string | null }) => a.entry!.localeCompare(b.entry!)
  assert.deepEqual(dead.map((d) => ({ entry: d.entry, reason: d.reason, stream: d.stream })).sort(byEntry), [
    { entry: missingScore, reason: 'missing_field', stream },
    { entry: scoreNine, reason: 'bad_score', stream },
    { entry: unknownUser, reason: 'unknown_user', stream },
  ].sort(byEntry))
  assert.equal(dead.find((d) => d.entry === unknownUser)!.user, '999999', 'the dead letter keeps the vote\'s fields')
  assert.equal(dead.find((d) => d.entry === scoreNine)!.consumer, consumer.name)
  await assertDbHolds(db, redis, keys, [content!], newestVotes(good))
})

test('on SIGTERM a consumer finishes its batch, exits 0 and leaves nothing pending; a successor applies the rest', async (t) => {
  const { url, prefix, keys, stream, db, redis, users, contentIds } = await consumerWorld(t, 20, 2)
  const random = seededRandom(15)
  const added = await addVotes(redis, stream, randomVotes(random, users, contentIds, 4000))
  const first = startConsumer(t, url, prefix, { CONSUMER_BATCH_SIZE: '20' })
  await waitFor(async () => {
    const [row] = await db.execute<{ n: number }>(sql`select count(*)::int as n from votes`)
    return row!.n > 0
  }, { timeoutMs: 20_000, what: 'the first consumer to apply something' })

  assert.equal(await stopProcess(first, 'SIGTERM'), 0, first.output())
  assert.equal((await groupState(redis, stream))!.pending, 0, 'the batch in hand was acked before exit')
  assert.ok(!(await consumersInGroup(redis, stream)).some((c) => c.name === first.name), 'the stopped consumer left the group')
  const partial = await db.execute<{ ok: boolean }>(sql`
    select bool_and(c.vote_count = (select count(*) from votes v where v.content_id = c.id)) as ok from contents c`)
  assert.equal(partial[0]!.ok, true, 'what was applied so far is consistent')

  startConsumer(t, url, prefix)
  await waitForDrained(redis, stream)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes(added))
})
