// A second run of npm run import:django after the old service changed things: what it brings over, what it leaves
// because tally changed it since, an import from before migration 0010, and ids held by tally's own rows.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { audit } from '../audit/audit.js'
import { redisKeys } from '../shared/redis/keys.js'
import { buildTestApp, emptyDatabase } from './helpers.js'
import {
  addVotes, GROUP, isolatedPrefix, openDb, openRedis, seedContents, seedUsers, startConsumer, waitForDrained,
} from './consumer-helpers.js'
import { djangoPbkdf2, oldContent, oldDatabase, oldUser, runImport } from './django-helpers.js'

test('a re-run brings new passwords, deactivations and names over while tally has not changed the account; ' +
  'a login since wins', async (t) => {
  const { url: from, old } = await oldDatabase(t)
  await old`insert into auth_user ${old([oldUser(1, 'alice'), oldUser(2, 'bob'), oldUser(3, 'carol'), oldUser(4, 'dave')])}`
  const to = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const db = openDb(t, to)
  assert.equal((await runImport(t, from, to, prefix)).code, 0)
  const app = await buildTestApp(t, { DATABASE_URL: to, REDIS_PREFIX: prefix })
  const logIn = async (username: string, password: string) =>
    (await app.inject({ method: 'POST', url: '/api/auth/', payload: { username, password } })).statusCode
  assert.equal(await logIn('carol', '1234'), 200, 'carol logs in to tally: her hash is now tally\'s')

  await old`update auth_user set password = ${djangoPbkdf2('alice changed it')} where id = 1`
  await old`update auth_user set is_active = false where id = 2`
  await old`update auth_user set password = ${djangoPbkdf2('carol changed it there')} where id = 3`
  await old`update auth_user set username = 'david', email = 'david@example.com', first_name = 'David' where id = 4`
  const again = await runImport(t, from, to, prefix)
  assert.equal(again.code, 0, again.err)
  assert.match(again.out, /users: 4 read, 0 imported \(0 inactive\), 3 updated \(1 passwords, 1 deactivated, 0 reactivated, 1 e-mail or names, 0 cheap hashes wrapped\), 1 kept because tally changed them, 0 unchanged, 0 skipped/)
  assert.match(again.out, /username of id 4 changed in Django from "dave" to "david": kept as "dave"/)

  assert.equal(await logIn('alice', '1234'), 401, 'the old password stops working')
  assert.equal(await logIn('alice', 'alice changed it'), 200, 'the new one works')
  assert.equal(await logIn('bob', '1234'), 401, 'the deactivated account is out')
  assert.equal(await logIn('carol', '1234'), 200, 'the password carol logged in to tally with is kept')
  assert.equal(await logIn('carol', 'carol changed it there'), 401)
  assert.equal(await logIn('dave', '1234'), 200, 'a username changed in Django is not applied')
  const [dave] = await db.execute<{ email: string; first_name: string }>(sql`select email, first_name from users where id = 4`)
  assert.deepEqual([dave!.email, dave!.first_name], ['david@example.com', 'David'])

  await old`update auth_user set is_active = true where id = 2`
  const third = await runImport(t, from, to, prefix)
  assert.match(third.out, /1 updated \(0 passwords, 0 deactivated, 1 reactivated/)
  assert.equal(await logIn('bob', '1234'), 200, 'reactivated there, reactivated here')
})

test('an import from before migration 0010 is recognised: ' +
  'its accounts and contents adopted, Django\'s new password brought over, tally\'s kept', async (t) => {
  const { url: from, old } = await oldDatabase(t)
  await old`insert into auth_user ${old([oldUser(1, 'alice'), oldUser(2, 'Alice'), oldUser(3, 'carol')])}`
  await old`insert into api_content ${old([oldContent(10), oldContent(11)])}`
  await old`insert into api_vote ${old([{ id: 1, content_id: 10, user_id: 1, score: 4 }])}`
  const to = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const db = openDb(t, to)
  assert.equal((await runImport(t, from, to, prefix, ['--on-collision=suffix'])).code, 0)
  const app = await buildTestApp(t, { DATABASE_URL: to, REDIS_PREFIX: prefix })
  const logIn = async (username: string, password: string) =>
    (await app.inject({ method: 'POST', url: '/api/auth/', payload: { username, password } })).statusCode
  assert.equal(await logIn('carol', '1234'), 200)
  // What an import before migration 0010 left: the rows, no record of them (and created_at through a JavaScript Date).
  await db.execute(sql`delete from legacy_accounts`)
  await db.execute(sql`delete from legacy_contents`)
  await db.execute(sql`delete from legacy_imports`)
  await db.execute(sql`update users set created_at = date_trunc('milliseconds', created_at)`)
  await db.execute(sql`update contents set created_at = date_trunc('milliseconds', created_at)`)

  await old`update auth_user set password = ${djangoPbkdf2('alice changed it')} where id = 1`
  await old`update auth_user set password = ${djangoPbkdf2('carol changed it there')} where id = 3`
  const again = await runImport(t, from, to, prefix, ['--on-collision=suffix'])
  assert.equal(again.code, 0, again.err)
  // carol's row holds tally's hash, so what Django held when she was imported is unknown: her current one counts as seen.
  assert.match(again.out, /1 updated \(1 passwords.*0 kept because tally changed them, 2 unchanged, 0 skipped; 3 adopted from an import before migration 0010/)
  assert.match(again.out, /contents: 2 read, 0 imported, 2 already present, 0 skipped; 2 adopted/)
  assert.match(again.out, /votes: 1 read, 0 imported, 0 updated, 1 already present/)
  assert.equal(await logIn('alice', 'alice changed it'), 200)
  assert.equal(await logIn('alice', '1234'), 401)
  assert.equal(await logIn('Alice_2', '1234'), 200, 'the renamed account is adopted under its tally name')
  assert.equal(await logIn('carol', '1234'), 200, 'a password upgraded at a login is tally\'s')
  const marked = await db.execute<{ n: number }>(sql`select count(*)::int as n from legacy_accounts`)
  assert.equal(marked[0]!.n, 3)
})

test('a tally account or content under an old id is never merged: ' +
  'the run refuses, or skips it and its votes with --on-collision=skip', async (t) => {
  const { url: from, old } = await oldDatabase(t)
  await old`insert into auth_user ${old([oldUser(1, 'alice'), oldUser(2, 'bob')])}`
  await old`insert into api_content ${old([oldContent(1, 'django one'), oldContent(2, 'django two')])}`
  await old`insert into api_vote ${old([
    { id: 1, content_id: 1, user_id: 1, score: 4 },
    { id: 2, content_id: 1, user_id: 2, score: 5 },
    { id: 3, content_id: 2, user_id: 2, score: 3 },
  ])}`
  const to = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const db = openDb(t, to)
  // Made in tally before the import: user 1 and content 1.
  const [tallyUser] = await seedUsers(db, 1)
  const [tallyContent] = await seedContents(db, 1)
  assert.deepEqual([tallyUser, tallyContent], [1, 1])

  const refused = await runImport(t, from, to, prefix)
  assert.equal(refused.code, 1, refused.err)
  assert.match(refused.err, /user id 1 \("alice" in Django\) is held by tally's "user_\w+", which was not imported: refused/)
  const legacyRows = async () => (await db.execute<{ n: number }>(
    sql`select (select count(*) from legacy_accounts) + (select count(*) from votes) as n`))[0]!.n
  assert.equal(Number(await legacyRows()), 0, 'nothing written')

  const skipped = await runImport(t, from, to, prefix, ['--on-collision=skip'])
  assert.equal(skipped.code, 0, skipped.err)
  assert.match(skipped.out, /user id 1 \("alice" in Django\) is held by tally's "user_\w+", which was not imported: skipped/)
  assert.match(skipped.out, /content id 1 \("django one" in Django\) is held by tally's "title_\w+", which was not imported: skipped/)
  assert.match(skipped.out, /users: 2 read, 1 imported .* 1 skipped/)
  assert.match(skipped.out, /contents: 2 read, 1 imported, 0 already present, 1 skipped/)
  assert.match(skipped.out, /votes: 3 read, 1 imported, .* 1 of an unknown or skipped user, 1 of an unknown or skipped content/)
  const totals = await db.execute<{ id: number; title: string; vote_count: number }>(
    sql`select id, title, vote_count from contents order by id`)
  assert.deepEqual(totals.map((c) => [c.id, c.title.startsWith('title_'), c.vote_count]), [[1, true, 0], [2, false, 1]],
    'tally\'s content keeps its title and gets none of the Django content\'s votes')
  const imported = await db.execute<{ content_id: number }>(sql`select content_id from legacy_contents`)
  assert.deepEqual(imported.map((r) => r.content_id), [2])
})

test('votes changed in Django between runs are brought over with the totals moved by the difference; ' +
  'a vote cast in tally since wins', async (t) => {
  const { url: from, old } = await oldDatabase(t)
  await old`insert into auth_user ${old([oldUser(1, 'alice'), oldUser(2, 'bob')])}`
  await old`insert into api_content ${old([oldContent(10), oldContent(11)])}`
  await old`insert into api_vote ${old([
    { id: 1, content_id: 10, user_id: 1, score: 3 },
    { id: 2, content_id: 10, user_id: 2, score: 4 },
    { id: 3, content_id: 11, user_id: 1, score: 2 },
  ])}`
  const to = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const keys = redisKeys(prefix)
  const db = openDb(t, to)
  const redis = openRedis(t)
  assert.equal((await runImport(t, from, to, prefix)).code, 0)
  startConsumer(t, to, prefix)
  await addVotes(redis, keys.stream(0), [{ user: 2, content: 10, score: 0 }])
  await waitForDrained(redis, keys.stream(0))

  await old`insert into api_vote ${old([
    { id: 4, content_id: 10, user_id: 1, score: 5 }, // alice changed her vote there
    { id: 5, content_id: 10, user_id: 2, score: 1 }, // bob too, but he voted in tally since
    { id: 6, content_id: 11, user_id: 2, score: 5 }, // a new vote
  ])}`
  const again = await runImport(t, from, to, prefix)
  assert.equal(again.code, 0, again.err)
  assert.match(again.out, /votes: 6 read, 1 imported, 1 updated, 2 already present, 2 older duplicates of a newer vote/)
  const stored = await db.execute<{ user_id: number; content_id: number; score: number }>(
    sql`select user_id, content_id, score from votes order by content_id, user_id`)
  assert.deepEqual(stored.map((v) => [v.user_id, v.content_id, v.score]), [[1, 10, 5], [2, 10, 0], [1, 11, 2], [2, 11, 5]])
  const totals = await db.execute<{ id: number; vote_count: number; vote_sum: string }>(
    sql`select id, vote_count, vote_sum from contents order by id`)
  assert.deepEqual(totals.map((c) => [c.id, c.vote_count, Number(c.vote_sum)]), [[10, 2, 5], [11, 2, 7]])
  assert.equal((await audit(db, redis, keys, GROUP)).ok, true)
})
