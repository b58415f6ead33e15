// applyIsolating with the real applyVotes on a real PostgreSQL: a vote PostgreSQL refuses is split
// out and dead-lettered alone while the rest of its batch commits; other errors sink the batch whole.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { createDb } from '../shared/db/client.js'
import { freePort } from '../devtools/ports.js'
import { openDb, seedContents, seedUsers } from '../test/consumer-helpers.js'
import { applyVotes, type ApplyResult } from './apply.js'
import { collapse } from './collapse.js'
import type { Vote } from './decode.js'
import { applyIsolating } from './isolate.js'

const vote = (seq: number, userId: number, contentId: number, score: number): Vote =>
  ({ stream: 'votes:{0}', entryId: `5000-${seq}`, ms: 5000, seq, userId, contentId, score })

test('a vote PostgreSQL refuses is dead-lettered alone with its SQLSTATE, and every other vote of the batch commits', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!)
  const users = await seedUsers(db, 7)
  const [content] = await seedContents(db, 1)
  // A score of 9 never comes out of decode; here it stands for any row PostgreSQL refuses (votes_score_range).
  const votes = collapse(users.map((u, i) => vote(i, u, content!, i === 4 ? 9 : i % 6)))
  const commits: Vote[][] = []
  const result = await applyIsolating(votes, {
    apply: (some) => applyVotes(db, some),
    committed: async (some) => { commits.push(some) },
  })
  assert.equal(result.applied, 6)
  assert.deepEqual(result.rejected.map((r) => [r.entryId, r.reason]), [['5000-4', 'apply_failed_23514']])
  const [row] = await db.execute<{ n: number; sum: string }>(
    sql`select count(*)::int as n, sum(score)::text as sum from votes where content_id = ${content!}`)
  assert.deepEqual([row!.n, Number(row!.sum)], [6, 0 + 1 + 2 + 3 + 5 + 0])
  assert.ok(commits.length > 1, 'the halves commit separately')
  assert.deepEqual(commits.flat().map((v) => v.entryId).sort(), votes.filter((v) => (v.score ?? 0) <= 5).map((v) => v.entryId).sort(),
    'each committed vote is announced once, the refused one never')
})

test('an error that is not the votes\' fault (PostgreSQL unreachable) sinks the batch whole: thrown, nothing dead-lettered', async (t) => {
  const nowhere = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/tally`, { max: 1, connectTimeoutSeconds: 1 })
  t.after(() => nowhere.close())
  let committed = 0
  const attempt = applyIsolating([vote(0, 1, 1, 3), vote(1, 2, 1, 4)], {
    apply: (some) => applyVotes(nowhere, some),
    committed: async () => { committed++ },
  })
  await assert.rejects(attempt, (err: Error & { code?: string }) => err.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(err.cause ?? err)))
  assert.equal(committed, 0)
})

test('an empty batch applies nothing and announces nothing', async () => {
  let calls = 0
  const result: ApplyResult = await applyIsolating([], {
    apply: async () => { calls++; throw new Error('not called') },
    committed: async () => { calls++ },
  })
  assert.deepEqual(result, { applied: 0, stale: 0, rejected: [] })
  assert.equal(calls, 0)
})
