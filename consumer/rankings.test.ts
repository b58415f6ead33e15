import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { pino } from 'pino'
import { applyVotes } from './apply.js'
import { collapse } from './collapse.js'
import { decodeEntry, type Vote } from './decode.js'
import { createReranker, refreshPrior, rerankContents, sweepRankings } from './rankings.js'
import { readPrior } from '../shared/db/ranking-prior.js'
import { emptyDatabase } from '../test/helpers.js'
import { openDb, seedContents, seedUsers } from '../test/consumer-helpers.js'
import { bayesianAverage, ratingLowerBound, type Histogram } from '../shared/ranking.js'
import type { Db } from '../shared/db/client.js'

const settings = { weight: 10, z: 1.65, tolerance: 0.01, refreshMs: 60_000, maxPerTick: 5000 }
let entry = 0
const vote = (userId: number, contentId: number, score: number | null): Vote => decodeEntry('votes',
  [`${++entry}-0`, ['user', String(userId), 'content', String(contentId), 'score', score === null ? '-' : String(score)]]) as Vote

type Keys = { id: number; k1: number; k2: number; k3: number; k4: number; h: number[]; vote_sum: string }
async function keysOf(db: Db, ids: readonly number[]): Promise<Keys[]> {
  return db.execute<Keys>(sql`select id, rank_vote_count as k1, rank_average_vote as k2, rank_bayesian_average as k3,
    rank_rating_lower_bound as k4, array[votes_0, votes_1, votes_2, votes_3, votes_4, votes_5] as h, vote_sum::text
    from contents where id = any(${sql.param(`{${ids.join(',')}}`)}::int[]) order by id`)
}

/** What the keys must be, from the content's histogram and the prior in force. */
async function expectedKeys(db: Db, row: Keys) {
  const prior = await readPrior(db)
  const h = row.h as unknown as Histogram
  const count = h.reduce((a, b) => a + b, 0)
  const sum = Number(row.vote_sum)
  return {
    id: row.id, k1: count, k2: count > 0 ? sum / count : -1, k3: bayesianAverage(sum, count, prior), k4: ratingLowerBound(h, prior.z),
  }
}

async function world(t: Parameters<typeof emptyDatabase>[0]) {
  const db = openDb(t, await emptyDatabase(t))
  const users = await seedUsers(db, 12)
  const contents = await seedContents(db, 3)
  return { db, users, contents }
}

test('a new content is ranked at once with the prior in force; re-ranking gives keys the reads compute alike', async (t) => {
  const { db, users, contents: [a, b, c] } = await world(t)
  const fresh = await keysOf(db, [a!])
  assert.deepEqual(fresh[0], { ...(await expectedKeys(db, fresh[0]!)), h: [0, 0, 0, 0, 0, 0], vote_sum: '0' } as unknown as Keys)
  // a: one 5; b: ten votes averaging 4.8; c: a 3 taken back.
  await applyVotes(db, collapse([vote(users[0]!, a!, 5), ...users.slice(0, 10).map((u, i) => vote(u, b!, i < 8 ? 5 : 4)),
    vote(users[0]!, c!, 3)]))
  await applyVotes(db, collapse([vote(users[0]!, c!, null)]))
  assert.equal(await rerankContents(db, [a!, b!, c!]), 2, 'c is back to no votes: its keys did not change')
  for (const row of await keysOf(db, [a!, b!, c!])) {
    const want = await expectedKeys(db, row)
    assert.deepEqual([row.k1, row.k2, row.k3, row.k4], [want.k1, want.k2, want.k3, want.k4], `content ${row.id}`)
  }
  const [first] = await db.execute<{ id: number }>(sql`select id from contents order by rank_bayesian_average desc, id desc limit 1`)
  assert.equal(first!.id, b, 'ten votes averaging 4.8 outrank one 5')
  assert.equal(await rerankContents(db, [a!, b!, c!]), 0, 'nothing changed since: nothing written')
})

test('C follows the mean of every vote past the tolerance, and a sweep re-ranks every content with it', async (t) => {
  const { db, users, contents: [a, b] } = await world(t)
  assert.equal(await refreshPrior(db, settings), false, 'no votes: C stays 2.5')
  await applyVotes(db, collapse(users.slice(0, 4).map((u) => vote(u, a!, 5))))
  assert.equal(await refreshPrior(db, settings), true)
  assert.deepEqual(await readPrior(db), { mean: 5, weight: 10, z: 1.65 })
  assert.equal(await refreshPrior(db, settings), false, 'C has not moved since')
  assert.equal(await refreshPrior(db, { ...settings, weight: 25 }), true, 'a new m replaces the prior too')
  assert.deepEqual(await sweepRankings(db, 0, 2), { changed: 2, next: b! + 1 }, 'a sweep stops at its budget')
  assert.deepEqual(await sweepRankings(db, b! + 1), { changed: 1, next: null }, 'and goes on from there: every content moved with C')
  for (const row of await keysOf(db, [a!, b!])) {
    const want = await expectedKeys(db, row)
    assert.deepEqual([row.k1, row.k2, row.k3, row.k4], [want.k1, want.k2, want.k3, want.k4])
  }
  assert.deepEqual(await sweepRankings(db), { changed: 0, next: null })
})

test('the re-ranker re-ranks what its commits changed at its tick, and says so', async (t) => {
  const { db, users, contents: [a] } = await world(t)
  let announced = 0
  const reranker = createReranker({ db, settings, log: pino({ level: 'silent' }), announce: async () => { announced++ } })
  await reranker.tick()
  assert.equal(announced, 0, 'the first tick sweeps and finds nothing to change')
  await applyVotes(db, collapse([vote(users[0]!, a!, 4)]))
  reranker.changed([a!])
  await reranker.tick()
  assert.equal(announced, 1)
  const [row] = await keysOf(db, [a!])
  assert.equal(row!.k1, 1)
})
