// `npm run audit` as an operator runs it, a process of its own: exit 1 and the drifted content named
// (in words and in --json), exit 0 once the totals are repaired. The invariant itself: audit/audit.test.ts.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { applyVotes } from '../consumer/apply.js'
import { collapse } from '../consumer/collapse.js'
import { decodeEntry, type Vote } from '../consumer/decode.js'
import { emptyDatabase } from './helpers.js'
import { isolatedPrefix, openDb, openRedis, seedContents, seedUsers } from './consumer-helpers.js'
import { exitCodeOf, startNode } from './processes.js'

/** cli/audit.ts against `url` and `prefix`: its exit code and what it printed. */
async function runAuditCli(t: TestContext, url: string, prefix: string, args: string[] = []) {
  const cli = startNode(t, 'cli/audit.ts', { args, env: { ...process.env, DATABASE_URL: url, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn' } })
  return { code: await exitCodeOf(cli), output: cli.output() }
}

test('npm run audit exits 1 and names the drifted content; 0 once it is repaired', async (t) => {
  const url = await emptyDatabase(t)
  const db = openDb(t, url)
  const [user] = await seedUsers(db, 1)
  const [content] = await seedContents(db, 1)
  await applyVotes(db, collapse([decodeEntry('votes', ['1-0', ['user', String(user), 'content', String(content), 'score', '1']]) as Vote]))
  const prefix = isolatedPrefix()
  await db.execute(sql`update contents set vote_sum = vote_sum + 3, votes_1 = votes_1 - 1, votes_4 = votes_4 + 1 where id = ${content}`)
  const failed = await runAuditCli(t, url, prefix)
  assert.equal(failed.code, 1, failed.output)
  assert.match(failed.output, /invariant: FAILED/)
  assert.match(failed.output,
    new RegExp(`content ${content}: vote_count 1 vs 1 rows, vote_sum 4 vs 1, histogram \\[0, 0, 0, 0, 1, 0\\] vs \\[0, 1, 0, 0, 0, 0\\]`))

  const json = await runAuditCli(t, url, prefix, ['--json'])
  assert.equal(json.code, 1)
  assert.deepEqual(JSON.parse(json.output).mismatches.map((m: { id: number }) => m.id), [content])

  await db.execute(sql`update contents set vote_sum = vote_sum - 3, votes_1 = votes_1 + 1, votes_4 = votes_4 - 1 where id = ${content}`)
  const repaired = await runAuditCli(t, url, prefix)
  assert.equal(repaired.code, 0, repaired.output)
  assert.match(repaired.output, /invariant: OK/)
})

test('npm run audit exits 1 when entries vanished from a stream before they were applied, ' +
  'and --baseline waits for a drained stream', async (t) => {
  const url = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const redis = openRedis(t)
  const stream = `${prefix}votes:{0}`
  const ids: string[] = []
  for (let i = 0; i < 10; i++) ids.push(String(await redis.xadd(stream, '*', 'user', '1', 'content', '1', 'score', '1')))
  await redis.xdel(stream, ids[2]!, ids[5]!, ids[8]!)
  const lost = await runAuditCli(t, url, prefix)
  assert.equal(lost.code, 1, lost.output)
  assert.match(lost.output, /took 10; recorded 0, pending 0, undelivered 7: 3 entries UNACCOUNTED FOR/)
  const early = await runAuditCli(t, url, prefix, ['--baseline'])
  assert.match(early.output, /baseline of .* not set: 0 pending and 7 undelivered entries; drain it first/)
  assert.equal(early.code, 1)
})
