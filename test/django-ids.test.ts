// Ids the old service ever handed out never go to a tally account or content: not those of users the import left
// out, nor those only its sequences remember (rows deleted there). And the run records the cut-over.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { buildTestApp, emptyDatabase, registerUser } from './helpers.js'
import { isolatedPrefix, openDb } from './consumer-helpers.js'
import { oldContent, oldDatabase, oldUser, runImport } from './django-helpers.js'

test('tally sign-ups and contents continue past every id the old service used, skipped and deleted ones too; ' +
  'the run records its cut-over', async (t) => {
  const { url: from, old } = await oldDatabase(t)
  // Alice (5) folds to alice (1) and is skipped; 6 was deleted in Django after its tokens were issued: only the sequence knows it.
  await old`insert into auth_user ${old([oldUser(1, 'alice'), oldUser(3, 'bob'), oldUser(5, 'Alice')])}`
  await old`select setval(pg_get_serial_sequence('auth_user', 'id'), 6)`
  await old`insert into api_content ${old([oldContent(10), oldContent(11)])}`
  await old`select setval(pg_get_serial_sequence('api_content', 'id'), 20)`
  const to = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const db = openDb(t, to)
  const count = async (table: string) =>
    (await db.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`))[0]!.n

  const dry = await runImport(t, from, to, prefix, ['--on-collision=skip', '--dry-run'])
  assert.equal(dry.code, 0, dry.err)
  assert.match(dry.out, /ids: users continue after id 6 \(the old service's highest: 5 in rows, 6 in its sequence\); contents continue after id 20/)
  for (const table of ['legacy_accounts', 'legacy_contents', 'legacy_imports', 'users']) {
    assert.equal(await count(table), 0, `a dry run writes no ${table}`)
  }
  const [seq] = await db.execute<{ users: string | null }>(
    sql`select pg_sequence_last_value(pg_get_serial_sequence('users', 'id')::regclass) as users`)
  assert.equal(seq!.users, null, 'a dry run leaves the sequences alone')

  const before = new Date()
  const done = await runImport(t, from, to, prefix, ['--on-collision=skip'])
  assert.equal(done.code, 0, done.err)
  assert.match(done.out, /username "Alice" \(id 5\) collides with id 1: skipped/)
  assert.match(done.out, /users: 3 read, 2 imported/)
  const [run] = await db.execute<{ source_read_at: Date; users_last_id: number; contents_last_id: number }>(
    sql`select source_read_at, users_last_id::int, contents_last_id::int from legacy_imports`)
  assert.deepEqual([run!.users_last_id, run!.contents_last_id], [6, 20])
  // The old database's clock is this machine's here: the cut-over lies within the run.
  assert.ok(new Date(run!.source_read_at).getTime() >= before.getTime() - 1000 && new Date(run!.source_read_at).getTime() <= Date.now())
  const imported = await db.execute<{ user_id: number }>(sql`select user_id from legacy_accounts order by user_id`)
  assert.deepEqual(imported.map((r) => r.user_id), [1, 3], 'only the accounts the import wrote are marked imported')
  assert.equal(await count('legacy_contents'), 2)

  const app = await buildTestApp(t, { DATABASE_URL: to, REDIS_PREFIX: prefix })
  const newcomers = [await registerUser(app), await registerUser(app)]
  assert.deepEqual(newcomers.map((u) => u.id), [7, 8], 'no sign-up gets the skipped id 5 or the deleted id 6')
  const created = await app.inject({
    method: 'POST', url: '/api/contents/', headers: { authorization: `Bearer ${newcomers[0]!.access}` }, payload: { title: 'new' },
  })
  assert.equal(created.json().id, 21, 'content ids continue past the old sequence')

  const again = await runImport(t, from, to, prefix, ['--on-collision=skip'])
  assert.equal(again.code, 0, again.err)
  assert.match(again.out, /ids: users continue after id 8 /, 'a re-run never moves a sequence back')
  assert.equal(await count('legacy_imports'), 2, 'one row per completed run')
})
