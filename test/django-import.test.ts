// npm run import:django against a database in the Django service's schema (django-import/old-schema.sql):
// duplicates, a null content, a score of 9, a case collision, an inactive user, a 4-character password.
// Then the imported users log in over the API with their old passwords, vote, and read the aggregates.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { eq, sql } from 'drizzle-orm'
import { audit } from '../audit/audit.js'
import { users } from '../shared/db/schema.js'
import { redisKeys } from '../shared/redis/keys.js'
import { bearer, buildTestApp, emptyDatabase } from './helpers.js'
import { GROUP, isolatedPrefix, openDb, openRedis, startConsumer, waitForDrained } from './consumer-helpers.js'
import { oldDatabase, oldUser, runImport } from './django-helpers.js'

async function filledOldDatabase(t: TestContext): Promise<string> {
  const { url, old } = await oldDatabase(t)
  await old`insert into auth_user ${old([
    oldUser(1, 'alice'), oldUser(2, 'Alice'), oldUser(3, 'carol', { is_active: false }), oldUser(4, 'dave'),
  ])}`
  await old`insert into api_content ${old([10, 11, 12].map((id) => ({
    id, created_at: new Date('2021-05-06T07:08:09Z'), title: `old ${id}`, description: 'from django', average_vote: 4.9,
  })))}`
  await old`insert into api_vote ${old([
    { id: 1, content_id: 10, user_id: 1, score: 3 },
    { id: 2, content_id: 10, user_id: 1, score: 5 }, // alice changed her mind: the highest id wins
    { id: 3, content_id: 10, user_id: 4, score: 4 },
    { id: 4, content_id: 11, user_id: 4, score: 9 }, // out of range
    { id: 5, content_id: null, user_id: 1, score: 2 }, // its content is gone
    { id: 6, content_id: 12, user_id: 3, score: 2 },
    { id: 7, content_id: 11, user_id: 2, score: 1 },
  ])}`
  return url
}

test('the Django database imported: ' +
  'collisions refused unless told, dry run writes nothing, then users log in with old passwords and vote', async (t) => {
  const from = await filledOldDatabase(t)
  const to = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const db = openDb(t, to)
  const userCount = async () => (await db.execute<{ n: number }>(sql`select count(*)::int as n from users`))[0]!.n

  const refused = await runImport(t, from, to, prefix)
  assert.equal(refused.code, 1, refused.err)
  assert.match(refused.err, /username "Alice" \(id 2\) collides with id 1/)
  assert.equal(await userCount(), 0, 'nothing written when collisions are refused')

  const dry = await runImport(t, from, to, prefix, ['--on-collision=suffix', '--dry-run'])
  assert.equal(dry.code, 0, dry.err)
  assert.match(dry.out, /dry run, nothing written/)
  assert.match(dry.out, /votes: 7 read, 4 imported, 0 updated/, 'a dry run reports what the run would do')
  assert.equal(await userCount(), 0, 'nothing written by a dry run')

  const done = await runImport(t, from, to, prefix, ['--on-collision=suffix'])
  assert.equal(done.code, 0, done.err)
  assert.match(done.out, /users: 4 read, 4 imported \(1 inactive\), 0 updated .*, 0 kept because tally changed them, 0 unchanged, 0 skipped/)
  assert.match(done.out, /username "Alice" \(id 2\) collides with id 1: renamed to "Alice_2"/)
  assert.match(done.out, /votes: 7 read, 4 imported, 0 updated, 0 already present, 1 older duplicates of a newer vote, skipped: 1 without a content, 1 with a score outside 0\.\.5/)
  assert.match(done.out, /content index rebuilt \(3 contents\)/)
  const totals = await db.execute<{ id: number; vote_count: number; vote_sum: string; created_at: Date; author_id: number | null }>(
    sql`select id, vote_count, vote_sum, created_at, author_id from contents order by id`)
  assert.deepEqual(totals.map((c) => [c.id, c.vote_count, Number(c.vote_sum), c.author_id]),
    [[10, 2, 9, null], [11, 1, 1, null], [12, 1, 2, null]], 'counts and sums from the votes, not from average_vote 4.9')
  assert.equal(new Date(totals[0]!.created_at).toISOString(), '2021-05-06T07:08:09.000Z')

  const again = await runImport(t, from, to, prefix, ['--on-collision=suffix'])
  assert.equal(again.code, 0, again.err)
  assert.match(again.out, /users: 4 read, 0 imported \(0 inactive\), 0 updated .*, 0 kept because tally changed them, 4 unchanged, 0 skipped/)
  assert.match(again.out, /votes: 7 read, 0 imported, 0 updated, 4 already present/)

  const redis = openRedis(t)
  const keys = redisKeys(prefix)
  assert.equal((await audit(db, redis, keys, GROUP)).ok, true, 'the audit passes on the imported data')

  const app = await buildTestApp(t, { DATABASE_URL: to, REDIS_PREFIX: prefix })
  const logIn = (username: string, password: string) => app.inject({ method: 'POST', url: '/api/auth/', payload: { username, password } })
  const alice = await logIn('alice', '1234')
  assert.equal(alice.statusCode, 200, alice.body)
  const [row] = await db.select({ h: users.passwordHash }).from(users).where(eq(users.id, 1))
  assert.match(row!.h, /^\$argon2id\$/, 'the Django hash is upgraded at the first login')
  assert.equal((await logIn('Alice_2', '1234')).statusCode, 200, 'the renamed account logs in under its new name')
  assert.equal((await logIn('carol', '1234')).statusCode, 401, 'an inactive user stays out')

  const vote = await app.inject({
    method: 'POST', url: '/api/vote/', headers: bearer(alice.json().access), payload: { content: 11, score: 4 },
  })
  assert.equal(vote.statusCode, 202, vote.body)
  startConsumer(t, to, prefix)
  await waitForDrained(redis, keys.stream(0))
  const detail = (await app.inject({ url: '/api/contents/11/', headers: bearer(alice.json().access) })).json()
  assert.deepEqual([detail.vote_count, detail.average_vote, detail.user_vote], [2, 2.5, 4],
    'a vote cast in tally is newer than every imported one')
  const created = await app.inject({
    method: 'POST', url: '/api/contents/', headers: bearer(alice.json().access), payload: { title: 'new' },
  })
  assert.equal(created.json().id, 13, 'content ids continue after the highest imported one')
  const registered = await app.inject({
    method: 'POST', url: '/api/register/', payload: { username: 'erin', password: 'correct horse battery' },
  })
  assert.equal(registered.json().id, 5, 'user ids continue after the highest imported one')
  assert.equal((await audit(db, redis, keys, GROUP)).ok, true)
})
