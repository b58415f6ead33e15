// Users imported from the Django service keep their password hashes (issue 12): they log in with their old
// passwords, even ones shorter than registration allows, and the first success replaces the hash with argon2id.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eq } from 'drizzle-orm'
import { users } from '../../shared/db/schema.js'
import { buildTestApp, uniqueName } from '../../test/helpers.js'

// Made with Python's hashlib as Django's PBKDF2PasswordHasher makes it: password "1234".
const DJANGO_1234 = 'pbkdf2_sha256$1000$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o='

test('a user with a Django hash logs in with the old password (4 characters), and the hash becomes argon2id', async (t) => {
  const app = await buildTestApp(t)
  const username = uniqueName('django')
  const [row] = await app.db.insert(users).values({ username, usernameKey: username, passwordHash: DJANGO_1234 }).returning({ id: users.id })
  const logIn = (password: string) => app.inject({ method: 'POST', url: '/api/auth/', payload: { username, password } })

  assert.equal((await logIn('12345')).statusCode, 401, 'a wrong password is refused, and the hash is kept')
  assert.equal((await app.db.select({ h: users.passwordHash }).from(users).where(eq(users.id, row!.id)))[0]!.h, DJANGO_1234)

  const first = await logIn('1234')
  assert.equal(first.statusCode, 200, first.body)
  assert.ok(first.json().access)
  const [after] = await app.db.select({ h: users.passwordHash }).from(users).where(eq(users.id, row!.id))
  assert.match(after!.h, /^\$argon2id\$/, 'the Django hash was replaced')
  assert.equal((await logIn('1234')).statusCode, 200, 'and the same password still logs in')
  assert.equal((await logIn('4321')).statusCode, 401)
})

test('an inactive user cannot log in, with the right password: the answer of a wrong one', async (t) => {
  const app = await buildTestApp(t)
  const username = uniqueName('inactive')
  await app.db.insert(users).values({ username, usernameKey: username, passwordHash: DJANGO_1234, isActive: false })
  const res = await app.inject({ method: 'POST', url: '/api/auth/', payload: { username, password: '1234' } })
  assert.equal(res.statusCode, 401)
  assert.equal(res.json().code, 'invalid_credentials')
  const [row] = await app.db.select({ h: users.passwordHash }).from(users).where(eq(users.username, username))
  assert.equal(row!.h, DJANGO_1234, 'nothing is upgraded for a refused login')
})
