// Users imported from the Django service keep their password hashes (issue 12): they log in with their old
// passwords, even ones shorter than registration allows, and the first success replaces the hash with argon2id.
// A wrong password costs the same work whoever the username names, and a hash outside the bounds never logs in.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pbkdf2Sync, randomBytes } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import { eq } from 'drizzle-orm'
import type { App } from '../app.js'
import { users } from '../../shared/db/schema.js'
import { wrapCheapHash } from '../../shared/django/hashes.js'
import { buildTestApp, emptyDatabase, registerUser, uniqueName } from '../../test/helpers.js'

// Made with Python's hashlib as Django's PBKDF2PasswordHasher makes it: password "1234".
const DJANGO_1234 = 'pbkdf2_sha256$1000$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o='
const pbkdf2Hash = (password: string, digest: 'sha256' | 'sha1', iterations: number) =>
  `pbkdf2_${digest}$${iterations}$salt${iterations}$` +
  pbkdf2Sync(password, `salt${iterations}`, iterations, digest === 'sha256' ? 32 : 20, digest).toString('base64')

async function insertUser(app: App, passwordHash: string, isActive = true): Promise<string> {
  const username = uniqueName('django')
  await app.db.insert(users).values({ username, usernameKey: username, passwordHash, isActive })
  return username
}
const logIn = (app: App, username: string, password: string) =>
  app.inject({ method: 'POST', url: '/api/auth/', payload: { username, password } })
const storedHash = async (app: App, username: string) =>
  (await app.db.select({ h: users.passwordHash }).from(users).where(eq(users.username, username)))[0]!.h

/** The work one wrong-password log-in did, per slot (argon2 verifications per shape, PBKDF2 iterations per digest). */
async function wrongPasswordWork(app: App, username: string): Promise<Record<string, number>> {
  const done: Record<string, number> = {}
  app.loginPasswords.observe = (slot, units) => { done[slot] = (done[slot] ?? 0) + units }
  const res = await logIn(app, username, 'not the password')
  app.loginPasswords.observe = undefined
  assert.equal(res.statusCode, 401, username)
  assert.equal(res.json().code, 'invalid_credentials')
  return done
}

test('a user with a Django hash logs in with the old password (4 characters), and the hash becomes argon2id', async (t) => {
  const app = await buildTestApp(t)
  const username = await insertUser(app, DJANGO_1234)
  assert.equal((await logIn(app, username, '12345')).statusCode, 401, 'a wrong password is refused, and the hash is kept')
  assert.equal(await storedHash(app, username), DJANGO_1234)

  const first = await logIn(app, username, '1234')
  assert.equal(first.statusCode, 200, first.body)
  assert.ok(first.json().access)
  assert.match(await storedHash(app, username), /^\$argon2id\$/, 'the Django hash was replaced')
  assert.equal((await logIn(app, username, '1234')).statusCode, 200, 'and the same password still logs in')
  assert.equal((await logIn(app, username, '4321')).statusCode, 401)
})

test('an md5 digest the import wrapped into argon2id logs in with the old password and becomes a plain argon2id hash', async (t) => {
  const app = await buildTestApp(t)
  const username = await insertUser(app, await wrapCheapHash('md5$s2$a6f216c1973655418c93591eac9577ad'))
  assert.equal((await logIn(app, username, 'legacy!')).statusCode, 401)
  assert.equal((await logIn(app, username, 'legacy')).statusCode, 200)
  assert.match(await storedHash(app, username), /^\$argon2id\$/)
})

test('an inactive user cannot log in, with the right password: the answer of a wrong one', async (t) => {
  const app = await buildTestApp(t)
  const username = await insertUser(app, DJANGO_1234, false)
  const res = await logIn(app, username, '1234')
  assert.equal(res.statusCode, 401)
  assert.equal(res.json().code, 'invalid_credentials')
  assert.equal(await storedHash(app, username), DJANGO_1234, 'nothing is upgraded for a refused login')
})

test('a wrong password does the same work whoever the username names, and the work follows what is stored', async (t) => {
  const app = await buildTestApp(t, { DATABASE_URL: await emptyDatabase(t) })
  const tally = await registerUser(app)
  const tallyInactive = await registerUser(app)
  await app.db.update(users).set({ isActive: false }).where(eq(users.id, tallyInactive.id))
  const djangoArgon2 = `argon2${await hash('pw', { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 2 })}`
  const kinds: Record<string, string> = {
    'tally argon2id': tally.username,
    'tally argon2id, inactive': tallyInactive.username,
    'pbkdf2_sha256, 1,000 iterations': await insertUser(app, DJANGO_1234),
    'pbkdf2_sha256, 5,000 iterations': await insertUser(app, pbkdf2Hash('pw', 'sha256', 5000)),
    'pbkdf2_sha256, inactive': await insertUser(app, pbkdf2Hash('pw', 'sha256', 3000), false),
    'pbkdf2_sha1, 2,000 iterations': await insertUser(app, pbkdf2Hash('pw', 'sha1', 2000)),
    'django argon2': await insertUser(app, djangoArgon2),
    'md5 wrapped in argon2id': await insertUser(app, await wrapCheapHash('md5$s2$a6f216c1973655418c93591eac9577ad')),
    'md5, not wrapped': await insertUser(app, 'md5$s2$a6f216c1973655418c93591eac9577ad'),
    unusable: await insertUser(app, '!unusable'),
    'bcrypt (not supported)': await insertUser(app, 'bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv'),
    'pbkdf2 with a 1-byte digest': await insertUser(app, 'pbkdf2_sha256$1000$salt$AA=='),
    'pbkdf2 with 10M iterations': await insertUser(app, DJANGO_1234.replace('$1000$', '$10000000$')),
    'argon2 with 4 GiB of memory': await insertUser(app, djangoArgon2.replace(/m=1024,t=1,p=2/, 'm=4194304,t=1,p=2')),
  }
  // What the API reads once a minute, read now (the registrations' log-ins read it before the inserts).
  await app.loginPasswords.refresh()
  const unknown = await wrongPasswordWork(app, uniqueName('nobody'))
  assert.deepEqual(Object.keys(unknown).sort(), [
    'argon2 a2 v1 m=1024,t=1,p=2', 'argon2 a2 v1 m=19456,t=2,p=1', 'pbkdf2_sha1', 'pbkdf2_sha256',
  ], 'one argon2 verification per shape stored, PBKDF2 per digest stored; nothing for the hashes out of bounds')
  assert.equal(unknown.pbkdf2_sha256, 5000, 'the most iterations stored')
  assert.equal(unknown.pbkdf2_sha1, 2000)
  for (const [kind, username] of Object.entries(kinds)) assert.deepEqual(await wrongPasswordWork(app, username), unknown, kind)

  // Logged in, the pbkdf2_sha256 users are upgraded; once the census is read again, nobody pays for pbkdf2_sha256 but
  // the one left (inactive, 3,000 iterations).
  for (const kind of ['pbkdf2_sha256, 1,000 iterations', 'pbkdf2_sha256, 5,000 iterations']) {
    assert.equal((await logIn(app, kinds[kind]!, kind.includes('1,000') ? '1234' : 'pw')).statusCode, 200, kind)
  }
  await app.loginPasswords.refresh()
  assert.equal((await wrongPasswordWork(app, uniqueName('nobody'))).pbkdf2_sha256, 3000)

  // An import brings a dearer hash: its own first log-in reads the census again, and from then on everyone pays for it.
  const later = await insertUser(app, pbkdf2Hash('pw', 'sha256', 8000))
  assert.equal((await wrongPasswordWork(app, later)).pbkdf2_sha256, 8000)
  assert.equal((await wrongPasswordWork(app, uniqueName('nobody'))).pbkdf2_sha256, 8000)
})

test('stored Django parameters are not trusted: a 1-byte digest, 10M iterations or 4 GiB of argon2 memory never log in', async (t) => {
  const app = await buildTestApp(t)
  // A password that a 1-byte digest accepts (1 in 256 do): it logged in while the stored length was trusted.
  let password = ''
  do password = randomBytes(6).toString('hex'); while (pbkdf2Sync(password, 'salt', 1000, 1, 'sha256')[0] !== 0)
  const oneByte = await insertUser(app, 'pbkdf2_sha256$1000$salt$AA==')
  const res = await logIn(app, oneByte, password)
  assert.equal(res.statusCode, 401)
  assert.equal(res.json().code, 'invalid_credentials')
  const tenMillion = await insertUser(app, DJANGO_1234.replace('$1000$', '$10000000$'))
  assert.equal((await logIn(app, tenMillion, '1234')).statusCode, 401, '10M iterations')
  const huge = `argon2${(await hash('pw', { algorithm: 2, memoryCost: 1024, timeCost: 1 })).replace(/m=1024/, 'm=4194304')}`
  assert.equal((await logIn(app, await insertUser(app, huge), 'pw')).statusCode, 401, '4 GiB of memory')
})
