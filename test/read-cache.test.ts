// List pages served from the API's memory (READ_CACHE_MS) must never show less than what has been
// committed and announced: new contents, applied votes, each caller's own score and live locks show as
// soon as the announcement arrives (shared/read-changes.ts). Each test has its own database and Redis
// prefix, and a cache age of a minute, so only an announcement can make a page change.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { bearer, buildTestApp, createContent, emptyDatabase, registerUser, waitFor } from './helpers.js'
import { isolatedPrefix, openDb, startConsumer } from './consumer-helpers.js'
import type { Db } from '../shared/db/client.js'
import { announceVotesChanged } from '../shared/read-changes.js'
import type { App } from '../server/app.js'

async function cachedWorld(t: TestContext, env: Record<string, string> = {}) {
  const url = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const app = await buildTestApp(t, { DATABASE_URL: url, REDIS_PREFIX: prefix, READ_CACHE_MS: '60000', ...env })
  return { url, prefix, app, db: openDb(t, url, 1) }
}

const vote = (app: App, token: string, content: number, score: number) =>
  app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(token), payload: { content, score } })

interface Item { id: number; vote_count: number; average_vote: number | null; user_vote: number | null; locked_until: string | null }

const list = async (app: App, token?: string) => {
  const res = await app.inject({ url: '/api/contents/', headers: token ? bearer(token) : {} })
  assert.equal(res.statusCode, 200)
  return res.json() as { count: number; results: Item[] }
}

/** A content's votes as the consumer would have left them: its histogram, and the count and sum it gives. */
async function setHistogram(db: Db, id: number, h: readonly number[]) {
  const [n, sum] = [h.reduce((a, b) => a + b, 0), h.reduce((a, b, k) => a + k * b, 0)]
  await db.execute(sql`update contents set vote_count = ${n}, vote_sum = ${sum}, votes_0 = ${h[0]}, votes_1 = ${h[1]}, votes_2 = ${h[2]},
    votes_3 = ${h[3]}, votes_4 = ${h[4]}, votes_5 = ${h[5]} where id = ${id}`)
}

test('a content created after the list was read shows in the next list at once', async (t) => {
  const { app } = await cachedWorld(t)
  assert.equal((await list(app)).count, 0)
  const item = await createContent(app)
  const page = await list(app)
  assert.equal(page.count, 1)
  assert.deepEqual(page.results.map((r) => r.id), [item.id])
})

/** Resolves once this app has received every announcement published before the call. */
async function announcementsArrived(app: App) {
  const probe = { since: app.reads.changes.begin() ?? -1, contentIds: [2_147_483_647], verifiedSeq: -1 }
  await announceVotesChanged(app.redis, app.keys.readChanges, [2_147_483_647])
  await waitFor(async () => !app.reads.changes.isCurrent(probe) || undefined, { what: 'the probe announcement' })
}

test('a committed change shows once its writer announces it; until then, and after changes elsewhere, the page comes from memory',
  async (t) => {
    const { app, db } = await cachedWorld(t)
    const item = await createContent(app)
    const other = await createContent(app)
    // The creations' own announcements come back to this process too: let them arrive first.
    await announcementsArrived(app)
    assert.equal((await list(app)).results[1]!.vote_count, 0)
    await setHistogram(db, item.id, [0, 0, 0, 1, 1, 0])
    await announceVotesChanged(app.redis, app.keys.readChanges, [other.id + 1000])
    await announcementsArrived(app)
    assert.equal((await list(app)).results[1]!.vote_count, 0, 'served from the cache: nothing announced a change on this page')
    await announceVotesChanged(app.redis, app.keys.readChanges, [item.id])
    const row = await waitFor(async () => (await list(app)).results.find((r) => r.id === item.id && r.vote_count === 2),
      { what: 'the announced change' })
    assert.equal(row.average_vote, 3.5)
  })

test('with READ_CACHE_MS=0 every list is read from PostgreSQL', async (t) => {
  const { app, db } = await cachedWorld(t, { READ_CACHE_MS: '0' })
  const item = await createContent(app)
  assert.equal((await list(app)).results[0]!.vote_count, 0)
  await setHistogram(db, item.id, [0, 0, 0, 0, 0, 1])
  assert.equal((await list(app)).results[0]!.vote_count, 1)
})

test('every caller sees their own user_vote on a page the cache serves to all', async (t) => {
  const { app, db } = await cachedWorld(t)
  const [ann, ben] = [await registerUser(app), await registerUser(app)]
  const item = await createContent(app)
  await db.execute(sql`insert into votes (user_id, content_id, score, version)
    values (${ann.id}, ${item.id}, 4, 1), (${ben.id}, ${item.id}, 1, 2)`)
  await setHistogram(db, item.id, [0, 0, 1, 1, 0, 0])
  await announceVotesChanged(app.redis, app.keys.readChanges, [item.id])
  await announcementsArrived(app)
  assert.equal((await list(app)).results[0]!.user_vote, null, 'anonymous')
  assert.equal((await list(app, ann.access)).results[0]!.user_vote, 4)
  assert.equal((await list(app, ben.access)).results[0]!.user_vote, 1)
  assert.equal((await list(app)).results[0]!.user_vote, null, 'a token holder\'s score never reaches the shared page')
})

test('a lock shows on a cached page as soon as it is set', async (t) => {
  const { app } = await cachedWorld(t, { VOTE_THRESHOLD_COUNT_LIMIT: '1' })
  const voter = await registerUser(app)
  const item = await createContent(app)
  assert.equal((await list(app)).results[0]!.locked_until, null)
  for (const expected of [202, 429]) {
    const res = await vote(app, voter.access, item.id, 3)
    assert.equal(res.statusCode, expected)
  }
  await waitFor(async () => (await list(app)).results[0]!.locked_until ?? undefined, { what: 'the lock on the cached page' })
})

test('after the process loses its subscription (announcements may be lost), lists are read afresh', async (t) => {
  const { app, db, prefix } = await cachedWorld(t)
  const item = await createContent(app)
  assert.equal((await list(app)).results[0]!.vote_count, 0)
  await setHistogram(db, item.id, [0, 0, 1, 0, 0, 0])
  const clients = String(await app.redis.client('LIST'))
  const line = clients.split('\n').find((l) => l.includes(` name=tally-api:reads:${prefix} `))
  const id = /^id=(\d+) /.exec(line ?? '')?.[1]
  assert.ok(id, 'the subscriber connection is named after this app\'s prefix')
  await app.redis.client('KILL', 'ID', id)
  await waitFor(async () => (await list(app)).results[0]!.vote_count === 1 || undefined, { what: 'a fresh read' })
  await waitFor(async () => app.reads.changes.live || undefined, { what: 'the subscription back' })
})

test('a vote applied by a consumer shows in a list that was cached before it', async (t) => {
  const { app, url, prefix } = await cachedWorld(t)
  const voter = await registerUser(app)
  const item = await createContent(app)
  assert.equal((await list(app, voter.access)).results[0]!.user_vote, null)
  const res = await vote(app, voter.access, item.id, 5)
  assert.equal(res.statusCode, 202)
  startConsumer(t, url, prefix)
  const row = await waitFor(async () => {
    const r = (await list(app, voter.access)).results[0]!
    return r.vote_count === 1 ? r : undefined
  }, { what: 'the applied vote in the list' })
  assert.deepEqual([row.average_vote, row.user_vote], [5, 5])
})

const detail = async (app: App, id: number, token?: string) => {
  const res = await app.inject({ url: `/api/contents/${id}/`, headers: token ? bearer(token) : {} })
  assert.equal(res.statusCode, 200)
  return res.json() as Item
}

test('an item shows a committed change on the next read, and each caller sees only their own user_vote', async (t) => {
  const { app, db } = await cachedWorld(t)
  const [ann, ben] = [await registerUser(app), await registerUser(app)]
  const item = await createContent(app)
  assert.equal((await detail(app, item.id, ann.access)).user_vote, null)
  assert.equal((await detail(app, item.id)).vote_count, 0)
  await db.execute(sql`insert into votes (user_id, content_id, score, version) values (${ann.id}, ${item.id}, 4, 1)`)
  await setHistogram(db, item.id, [0, 0, 0, 0, 1, 0])
  const mine = await detail(app, item.id, ann.access)
  assert.deepEqual([mine.vote_count, mine.average_vote, mine.user_vote], [1, 4, 4])
  assert.equal((await detail(app, item.id, ben.access)).user_vote, null, 'another caller does not see Ann\'s score')
  assert.equal((await detail(app, item.id)).user_vote, null)
  assert.equal((await detail(app, item.id, ann.access)).user_vote, 4)
})

test('an item shows its lock at once, and an id that was unknown is found once it is created', async (t) => {
  const { app } = await cachedWorld(t, { VOTE_THRESHOLD_COUNT_LIMIT: '1' })
  const voter = await registerUser(app)
  const first = await createContent(app)
  const missing = await app.inject({ url: `/api/contents/${first.id + 1}/` })
  assert.equal(missing.statusCode, 404)
  const second = await createContent(app)
  assert.equal(second.id, first.id + 1)
  assert.equal((await detail(app, second.id)).id, second.id)

  assert.equal((await detail(app, first.id)).locked_until, null)
  for (const expected of [202, 429]) {
    const res = await vote(app, voter.access, first.id, 3)
    assert.equal(res.statusCode, expected)
  }
  await waitFor(async () => (await detail(app, first.id)).locked_until ?? undefined, { what: 'the lock on the item' })
})

test('while contents are being created, every list\'s count agrees with the items it shows', async (t) => {
  const { app } = await cachedWorld(t, { READ_CACHE_MS: '0' })
  const seen: [number, number][] = []
  for (let round = 0; round < 20; round++) {
    const lists = Array.from({ length: 4 }, () => app.inject({ url: '/api/contents/?page_size=100' }))
    await Promise.all([createContent(app), createContent(app), createContent(app), ...lists.map(async (l) => {
      const page = (await l).json() as { count: number; results: unknown[] }
      seen.push([page.count, page.results.length])
    })])
  }
  assert.deepEqual(seen.filter(([count, shown]) => count !== shown), [], `count = items shown, in one snapshot: ${JSON.stringify(seen)}`)
})
