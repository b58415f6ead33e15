// The invariant behind `npm run audit`: it holds after real applies, it names the content whose
// maintained totals drift from its votes rows, and the CLI exits 1 naming it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { sql } from 'drizzle-orm'
import { applyVotes } from '../consumer/apply.js'
import { collapse } from '../consumer/collapse.js'
import { decodeEntry, type Vote } from '../consumer/decode.js'
import { emptyDatabase } from '../test/helpers.js'
import { GROUP, ROOT, addVotes, isolatedPrefix, openDb, openRedis, seedContents, seedUsers } from '../test/consumer-helpers.js'
import { audit } from './audit.js'
import { redisKeys } from './redis/keys.js'

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

/** `npm run audit` as an operator runs it, against `url` and `prefix`. */
function runAuditCli(url: string, prefix: string, args: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'shared/audit.ts', ...args], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: url, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => { output += chunk })
    child.stderr.on('data', (chunk) => { output += chunk })
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, output }))
  })
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
  await db.execute(sql`update contents set vote_count = vote_count + 1 where id = ${b}`)
  const report = await audit(db, redis, redisKeys(isolatedPrefix()), GROUP)
  assert.equal(report.ok, false)
  assert.deepEqual(report.mismatches, [{ id: b, vote_count: 2, vote_sum: 1, actual_count: 1, actual_sum: 1 }])
  assert.ok(!report.mismatches.some((m) => m.id === a), 'the consistent content is not blamed')
})

test('audit fails when the contents counter disagrees with the number of contents', async (t) => {
  const { db } = await consistentWorld(t)
  const redis = openRedis(t)
  await db.execute(sql`update counters set value = value + 5 where name = 'contents'`)
  const report = await audit(db, redis, redisKeys(isolatedPrefix()), GROUP)
  assert.deepEqual({ ok: report.ok, counterOk: report.counterOk, mismatches: report.mismatches }, { ok: false, counterOk: false, mismatches: [] })
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

test('npm run audit exits 1 and names the drifted content; 0 once it is repaired', async (t) => {
  const { url, db, contents: [, b] } = await consistentWorld(t)
  const prefix = isolatedPrefix()
  await db.execute(sql`update contents set vote_sum = vote_sum + 3 where id = ${b}`)
  const failed = await runAuditCli(url, prefix)
  assert.equal(failed.code, 1, failed.output)
  assert.match(failed.output, /invariant: FAILED/)
  assert.match(failed.output, new RegExp(`content ${b}: vote_count 1 vs 1 rows, vote_sum 4 vs 1`))

  const json = await runAuditCli(url, prefix, ['--json'])
  assert.equal(json.code, 1)
  assert.deepEqual(JSON.parse(json.output).mismatches.map((m: { id: number }) => m.id), [b])

  await db.execute(sql`update contents set vote_sum = vote_sum - 3 where id = ${b}`)
  const repaired = await runAuditCli(url, prefix)
  assert.equal(repaired.code, 0, repaired.output)
  assert.match(repaired.output, /invariant: OK/)
})
