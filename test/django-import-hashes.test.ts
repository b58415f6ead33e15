// Password hashes of the old service are validated before they are written (shared/django/hashes.ts): a row outside
// the bounds refuses the run unless --on-bad-hash=unusable; the cheap legacy digests are written wrapped in argon2id.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { buildTestApp, emptyDatabase } from './helpers.js'
import { isolatedPrefix, openDb } from './consumer-helpers.js'
import { HASH_1234, oldDatabase, oldUser, runImport } from './django-helpers.js'

// Python's hashlib, as Django's MD5PasswordHasher: "legacy" with salt "s2".
const MD5_LEGACY = 'md5$s2$a6f216c1973655418c93591eac9577ad'
// A pbkdf2_sha256 hash whose digest is one byte: one random password in 256 would match it.
const ONE_BYTE = 'pbkdf2_sha256$1000$seasalt$AA=='

test('hashes outside the bounds refuse the run, or with --on-bad-hash=unusable are imported unusable; ' +
  'cheap digests are written wrapped', async (t) => {
  const { url: from, old } = await oldDatabase(t)
  await old`insert into auth_user ${old([oldUser(1, 'alice'), oldUser(2, 'short', { password: ONE_BYTE }),
    oldUser(3, 'legacy', { password: MD5_LEGACY }), oldUser(4, 'nopassword', { password: '!unusable-in-django' })])}`
  const to = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const db = openDb(t, to)
  const hashes = async () => new Map((await db.execute<{ id: number; password_hash: string; source_hash: string; written_hash: string }>(
    sql`select u.id, u.password_hash, l.source_hash, l.written_hash from users u join legacy_accounts l on l.user_id = u.id`))
    .map((r) => [r.id, r]))

  const refused = await runImport(t, from, to, prefix)
  assert.equal(refused.code, 1, refused.err)
  assert.match(refused.err, /user id 2 \("short"\): pbkdf2_sha256 digest is 1 byte, expected 32: refused/)
  assert.doesNotMatch(refused.err, /user id 4/, 'Django\'s own unusable password is no problem')
  assert.equal((await hashes()).size, 0, 'nothing written')

  const done = await runImport(t, from, to, prefix, ['--on-bad-hash=unusable'])
  assert.equal(done.code, 0, done.err)
  assert.match(done.out, /user id 2 \("short"\): pbkdf2_sha256 digest is 1 byte, expected 32: imported with an unusable password/)
  const first = await hashes()
  assert.equal(first.get(2)!.password_hash, '!')
  assert.equal(first.get(2)!.source_hash, ONE_BYTE)
  assert.match(first.get(3)!.password_hash, /^argon2id_wrapped_md5\$s2\$argon2id\$/, 'the md5 digest is written wrapped')
  assert.deepEqual([first.get(3)!.source_hash, first.get(3)!.written_hash], [MD5_LEGACY, first.get(3)!.password_hash])
  assert.equal(first.get(1)!.password_hash, HASH_1234, 'a pbkdf2 hash is written as it is')

  const app = await buildTestApp(t, { DATABASE_URL: to, REDIS_PREFIX: prefix })
  const logIn = async (username: string, password: string) =>
    (await app.inject({ method: 'POST', url: '/api/auth/', payload: { username, password } })).statusCode
  assert.equal(await logIn('short', '1234'), 401)

  // Fixed in Django: the next run (no flag needed now) brings the good hash over the unusable one it wrote.
  await old`update auth_user set password = ${HASH_1234} where id = 2`
  const again = await runImport(t, from, to, prefix)
  assert.equal(again.code, 0, again.err)
  assert.match(again.out, /users: 4 read, 0 imported \(0 inactive\), 1 updated \(1 passwords, .* 0 cheap hashes wrapped\), 0 kept because tally changed them, 3 unchanged/)
  assert.equal((await hashes()).get(3)!.password_hash, first.get(3)!.password_hash, 'a digest wrapped by the last run is not wrapped again')
  assert.equal(await logIn('short', '1234'), 200)
  assert.equal(await logIn('legacy', 'legacy'), 200, 'the wrapped digest verifies the old password')
  assert.equal(await logIn('legacy', 'legacy2'), 401)
})
