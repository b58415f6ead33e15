// npm run import:django while a consumer applies votes to the contents it imports: no vote is lost from the totals.
// The race is pinned, not hoped for: the test holds one content's row lock so that the consumer's batch commits
// while the import's statement is under way (after its snapshot, before it has the other content's row).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import postgres from 'postgres'
import { sql } from 'drizzle-orm'
import { audit, formatReport } from '../audit/audit.js'
import { redisKeys } from '../shared/redis/keys.js'
import { emptyDatabase, waitFor } from './helpers.js'
import { addVotes, GROUP, isolatedPrefix, openDb, openRedis, startConsumer, waitForDrained } from './consumer-helpers.js'
import { oldContent, oldDatabase, oldUser, runImport, startImport } from './django-helpers.js'
import { exitCodeOf } from './processes.js'

test('votes a consumer commits while an import runs stay in the totals: ' +
  'the import adds deltas under the row locks, and the audit passes', async (t) => {
  const { url: from, old } = await oldDatabase(t)
  await old`insert into auth_user ${old([oldUser(1, 'alice'), oldUser(2, 'bob')])}`
  await old`insert into api_content ${old([oldContent(10), oldContent(12)])}`
  await old`insert into api_vote ${old([{ id: 1, content_id: 10, user_id: 1, score: 5 }, { id: 2, content_id: 12, user_id: 2, score: 3 }])}`
  const to = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const keys = redisKeys(prefix)
  const db = openDb(t, to)
  const redis = openRedis(t)
  assert.equal((await runImport(t, from, to, prefix)).code, 0)
  // Bob votes on 10 in Django after the first run: the second run writes to content 10.
  await old`insert into api_vote ${old([{ id: 3, content_id: 10, user_id: 2, score: 4 }])}`

  // Content 12's row held: the consumer's batch (10 and 12, locked in id order) will hold 10 and wait for 12.
  const holder = postgres(to, { max: 1, onnotice: () => {} })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  t.after(async () => {
    release()
    await holder.end()
  })
  let held!: () => void
  const isHeld = new Promise<void>((resolve) => { held = resolve })
  const holding = holder.begin(async (tx) => {
    await tx`select id from contents where id = 12 for no key update`
    held()
    await released
  })
  await isHeld

  // In tally meanwhile: alice changes her 5 on content 10 to 0, and votes 2 on content 12.
  await addVotes(redis, keys.stream(0), [{ user: 1, content: 10, score: 0 }, { user: 1, content: 12, score: 2 }])
  startConsumer(t, to, prefix, { CONSUMER_CLAIM_IDLE_MS: '60000' })
  const name = new URL(to).pathname.slice(1)
  const waitingOnLocks = async () => (await db.execute<{ n: number }>(sql`
    select count(*)::int as n from pg_stat_activity where datname = ${name} and wait_event_type = 'Lock'`))[0]!.n
  await waitFor(async () => (await waitingOnLocks()) === 1, { what: 'the consumer to hold content 10 and wait for 12' })

  const importing = startImport(t, from, to, prefix)
  await waitFor(async () => (await waitingOnLocks()) === 2,
    { timeoutMs: 30_000, what: 'the import to wait for content 10, which the consumer holds' })
  release()
  await holding
  assert.equal(await exitCodeOf(importing, 60_000), 0, importing.stderr())
  await waitForDrained(redis, keys.stream(0))

  const stored = await db.execute<{ user_id: number; content_id: number; score: number }>(
    sql`select user_id, content_id, score from votes order by content_id, user_id`)
  assert.deepEqual(stored.map((v) => [v.user_id, v.content_id, v.score]), [[1, 10, 0], [2, 10, 4], [1, 12, 2], [2, 12, 3]])
  const totals = await db.execute<{ id: number; vote_count: number; vote_sum: string }>(
    sql`select id, vote_count, vote_sum from contents order by id`)
  assert.deepEqual(totals.map((c) => [c.id, c.vote_count, Number(c.vote_sum)]), [[10, 2, 4], [12, 2, 5]],
    'every content\'s totals equal its votes')
  const report = await audit(db, redis, keys, GROUP)
  assert.equal(report.ok, true, formatReport(report))
})
