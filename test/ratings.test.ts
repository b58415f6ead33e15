// Issue 20 over the public API, on real Redis and PostgreSQL, with real consumer processes: your own vote at once
// (pending, then applied), the histogram, the two ranking scores, taking a vote back, and the orderings with their
// cursors. Each test has its own database and Redis prefix.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, buildTestApp, createContent, emptyDatabase, registerUser, waitFor } from './helpers.js'
import { isolatedPrefix, startConsumer } from './consumer-helpers.js'
import type { App } from '../server/app.js'
import { bayesianAverage, ratingLowerBound } from '../shared/ranking.js'
import { stopProcess } from '../devtools/processes.js'

interface Item {
  id: number; vote_count: number; average_vote: number | null; histogram: number[]; bayesian_average: number
  rating_lower_bound: number; user_vote: number | null; user_vote_pending: boolean
}
interface Page { count: number; next: string | null; next_cursor: string | null; results: Item[] }

async function world(t: TestContext) {
  const url = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  // The API reads the prior C as often as the consumer refreshes it.
  const app = await buildTestApp(t, { DATABASE_URL: url, REDIS_PREFIX: prefix, RANKING_REFRESH_MS: '200' })
  const consumer = () => startConsumer(t, url, prefix, { RANKING_REFRESH_MS: '200' })
  return { app, consumer }
}

const vote = (app: App, token: string, content: number, score: number) =>
  app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(token), payload: { content, score } })
const retract = (app: App, token: string | undefined, content: number) =>
  app.inject({ method: 'DELETE', url: `/api/vote/${content}/`, headers: token === undefined ? {} : bearer(token) })
async function detail(app: App, id: number, token?: string): Promise<Item> {
  const res = await app.inject({ url: `/api/contents/${id}/`, headers: token === undefined ? {} : bearer(token) })
  assert.equal(res.statusCode, 200, res.body)
  return res.json()
}
async function page(app: App, query: string, token?: string): Promise<Page> {
  const res = await app.inject({ url: `/api/contents/${query}`, headers: token === undefined ? {} : bearer(token) })
  assert.equal(res.statusCode, 200, res.body)
  return res.json()
}
const mine = (p: Page, id: number) => p.results.find((r) => r.id === id)!

test('your vote shows at once as pending, in detail and list, until a consumer applies it; a refused one never does', async (t) => {
  const { app, consumer } = await world(t)
  const alice = await registerUser(app)
  const { id } = await createContent(app)
  assert.equal((await vote(app, alice.access, id, 4)).statusCode, 202)
  // No consumer runs: the vote is on the stream only.
  assert.deepEqual(pick(await detail(app, id, alice.access)), { user_vote: 4, user_vote_pending: true, vote_count: 0 })
  assert.deepEqual(pick(mine(await page(app, '', alice.access), id)), { user_vote: 4, user_vote_pending: true, vote_count: 0 })
  assert.deepEqual(pick(await detail(app, id)), { user_vote: null, user_vote_pending: false, vote_count: 0 }, 'anonymous: nothing pending')
  assert.equal((await vote(app, alice.access, id, 2)).statusCode, 202)
  assert.deepEqual(pick(await detail(app, id, alice.access)), { user_vote: 2, user_vote_pending: true, vote_count: 0 }, 'the newest shows')
  const missing = await vote(app, alice.access, id + 1000, 5)
  assert.equal(missing.statusCode, 404)
  assert.equal((await page(app, '', alice.access)).results.some((r) => r.user_vote_pending && r.id !== id), false)

  consumer()
  const applied = await waitFor(async () => {
    const item = await detail(app, id, alice.access)
    return item.user_vote_pending ? undefined : item
  }, { what: 'the vote applied' })
  assert.deepEqual(pick(applied), { user_vote: 2, user_vote_pending: false, vote_count: 1 })
  assert.deepEqual(applied.histogram, [0, 0, 1, 0, 0, 0])
  assert.deepEqual(pick(mine(await page(app, '', alice.access), id)), { user_vote: 2, user_vote_pending: false, vote_count: 1 })
})

test('a newer vote stays pending while PostgreSQL holds an older one', async (t) => {
  const { app, consumer } = await world(t)
  const bob = await registerUser(app)
  const { id } = await createContent(app)
  const running = consumer()
  await vote(app, bob.access, id, 1)
  await waitFor(async () => ((await detail(app, id, bob.access)).vote_count === 1 ? true : undefined), { what: 'the first vote applied' })
  assert.equal(await stopProcess(running, 'SIGTERM'), 0)
  await vote(app, bob.access, id, 5)
  assert.deepEqual(pick(await detail(app, id, bob.access)), { user_vote: 5, user_vote_pending: true, vote_count: 1 })
  assert.equal((await detail(app, id, bob.access)).average_vote, 1, 'the applied mean is the older vote\'s')
})

test('a vote taken back shows at once, leaves the counts once applied, and a vote after it counts again', async (t) => {
  const { app, consumer } = await world(t)
  const [carol, dave] = [await registerUser(app), await registerUser(app)]
  const { id } = await createContent(app)
  consumer()
  await vote(app, carol.access, id, 5)
  await vote(app, dave.access, id, 3)
  await waitFor(async () => ((await detail(app, id)).vote_count === 2 ? true : undefined), { what: 'both votes applied' })

  const res = await retract(app, carol.access, id)
  assert.equal(res.statusCode, 202)
  assert.deepEqual({ ...res.json() as object, id: undefined }, { content: id, score: null, status: 'accepted', id: undefined })
  const seen = await detail(app, id, carol.access)
  assert.ok(seen.user_vote === null && (seen.user_vote_pending || seen.vote_count === 1), 'null at once, pending until applied')
  const after = await waitFor(async () => {
    const item = await detail(app, id, carol.access)
    return item.vote_count === 1 && !item.user_vote_pending ? item : undefined
  }, { what: 'the retraction applied' })
  assert.deepEqual([after.user_vote, after.average_vote, after.histogram], [null, 3, [0, 0, 0, 1, 0, 0]])

  assert.equal((await retract(app, carol.access, id)).statusCode, 202, 'taking back what is not there is accepted')
  await vote(app, carol.access, id, 4)
  const again = await waitFor(async () => {
    const item = await detail(app, id, carol.access)
    return item.vote_count === 2 && !item.user_vote_pending ? item : undefined
  }, { what: 'the new vote applied' })
  assert.deepEqual([again.user_vote, again.histogram], [4, [0, 0, 0, 1, 1, 0]])

  assert.equal((await retract(app, carol.access, id + 1000)).statusCode, 404)
  assert.equal((await retract(app, undefined, id)).statusCode, 401)
  assert.equal((await retract(app, carol.access, 0)).statusCode, 400)
})

test('histogram and scores follow the votes; each ordering sorts by its score, a cursor walk sees each content once', async (t) => {
  const { app, consumer } = await world(t)
  const voters = await Promise.all(Array.from({ length: 10 }, () => registerUser(app)))
  const ids: number[] = []
  for (let i = 0; i < 5; i++) ids.push((await createContent(app)).id)
  // Content 0: one 5. Content 1: ten votes averaging 4.8. Content 2: two 0s. Content 3: 3, 4, 5. Content 4: none.
  const plan: [number, number[]][] = [[0, [5]], [1, [5, 5, 5, 5, 5, 5, 5, 5, 4, 4]], [2, [0, 0]], [3, [3, 4, 5]]]
  for (const [c, scores] of plan) {
    for (const [v, score] of scores.entries()) assert.equal((await vote(app, voters[v]!.access, ids[c]!, score)).statusCode, 202)
  }
  consumer()
  const votes = plan.reduce((n, [, s]) => n + s.length, 0)
  const sorted = await waitFor(async () => {
    const p = await page(app, '?ordering=-bayesian_average')
    const total = p.results.reduce((n, r) => n + r.vote_count, 0)
    return total === votes && p.results[0]?.id === ids[1] ? p : undefined
  }, { what: 'votes applied and re-ranked' })
  const one = sorted.results.find((r) => r.id === ids[1])!
  assert.deepEqual(one.histogram, [0, 0, 0, 0, 2, 8])
  const prior = { mean: (5 + 48 + 0 + 12) / 16, weight: 10, z: 1.65 }
  await waitFor(async () => {
    const item = await detail(app, ids[1]!)
    return Math.abs(item.bayesian_average - bayesianAverage(48, 10, prior)) < 0.005 ? true : undefined
  }, { what: 'C the mean of every vote (within RANKING_PRIOR_TOLERANCE)' })
  assert.equal(one.rating_lower_bound, ratingLowerBound([0, 0, 0, 0, 2, 8], 1.65))

  for (const [ordering, field] of [['-bayesian_average', 'bayesian_average'], ['-rating_lower_bound', 'rating_lower_bound'],
    ['-vote_count', 'vote_count'], ['-average_vote', 'average_vote'], ['-created_at', 'id']] as const) {
    const walked: Item[] = []
    let next: string | null = `/api/contents/?ordering=${ordering}&page_size=2`
    let first = true
    while (next !== null) {
      const p: Page = await page(app, next.replace(/^.*\/api\/contents\//, ''))
      walked.push(...p.results)
      if (first) assert.equal(p.next?.includes('page=2'), true, `${ordering}: page links first`)
      next = first ? `/api/contents/?ordering=${ordering}&page_size=2&cursor=${p.next_cursor}` : p.next
      first = false
    }
    assert.deepEqual(walked.map((r) => r.id).sort(), [...ids].sort(), `${ordering}: each content once`)
    const values = walked.map((r) => r[field] ?? -1)
    assert.deepEqual(values, [...values].sort((a, b) => b - a), `${ordering}: sorted by ${field}`)
  }

  const bad = await app.inject({ url: '/api/contents/?ordering=title' })
  assert.deepEqual([bad.statusCode, bad.json().code], [400, 'invalid_ordering'])
  assert.match(bad.json().message, /-bayesian_average/)
  const newestCursor = (await page(app, '?page_size=2')).next_cursor
  const mixed = await app.inject({ url: `/api/contents/?ordering=-vote_count&page_size=2&cursor=${newestCursor}` })
  assert.deepEqual([mixed.statusCode, mixed.json().code], [400, 'invalid_cursor'], 'a cursor belongs to its ordering')
})

function pick(item: Item) {
  return { user_vote: item.user_vote, user_vote_pending: item.user_vote_pending, vote_count: item.vote_count }
}
