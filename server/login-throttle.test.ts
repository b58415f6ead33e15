import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, uniqueName } from '../test/helpers.js'
import { throwawayRedis } from '../test/throwaway.js'

type App = Awaited<ReturnType<typeof buildTestApp>>
const PASSWORD = 'correct horse battery'
const WINDOW_SECONDS = 600

/** An app of its own Redis prefix (the counts live in Redis) with LOGIN_FAILURES_PER_ACCOUNT=10, 5 per network. */
const throttledApp = (t: TestContext, env: Record<string, string> = {}) =>
  buildTestApp(t, { LOGIN_FAILURES_PER_ACCOUNT: '10', REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName()}:`, ...env })

/** Registers only: a login would make the registering address a known network of the account. */
async function newAccount(app: App): Promise<string> {
  const username = uniqueName('victim')
  const res = await app.inject({
    method: 'POST', url: '/api/register/', remoteAddress: '192.0.2.250', payload: { username, password: PASSWORD },
  })
  assert.equal(res.statusCode, 201)
  return username
}
const logIn = (app: App, username: string, remoteAddress: string, password = 'a wrong guess') =>
  app.inject({ method: 'POST', url: '/api/auth/', remoteAddress, payload: { username, password } })
let nextAddress = 0
/** A fresh IPv4 client each call: the per-IP limit never meets them. */
const stranger = () => `198.18.${(++nextAddress >> 8) & 0xff}.${nextAddress & 0xff}`

function assertRefused(res: Awaited<ReturnType<typeof logIn>>, what: string) {
  assert.equal(res.statusCode, 429, what)
  assert.equal(res.json().code, 'rate_limited')
  const retryAfter = Number(res.headers['retry-after'])
  assert.ok(retryAfter > 0 && retryAfter <= WINDOW_SECONDS, `Retry-After ${res.headers['retry-after']} is within one window`)
}

test('after 10 failed logins of one account from anywhere, the next is refused with 429 before its password is checked', async (t) => {
  const app = await throttledApp(t)
  const username = await newAccount(app)
  for (let i = 0; i < 10; i++) assert.equal((await logIn(app, username, stranger())).statusCode, 401, `failure ${i + 1}`)
  assertRefused(await logIn(app, username, stranger(), PASSWORD), 'the right password from a new network is refused too')
  // The account limit is the account's: others are untouched.
  assert.equal((await logIn(app, await newAccount(app), stranger(), PASSWORD)).statusCode, 200)
})

test('a username nobody has is limited exactly as an account is, so a 429 does not tell which exist', async (t) => {
  const app = await throttledApp(t)
  const nobody = uniqueName('nobody')
  for (let i = 0; i < 10; i++) assert.equal((await logIn(app, nobody, stranger())).statusCode, 401)
  assertRefused(await logIn(app, nobody, stranger()), 'the 11th failure')
  // Usernames count after normalisation, as accounts are unique: case does not buy a new budget.
  assertRefused(await logIn(app, nobody.toUpperCase(), stranger()), 'the same name in capitals')
})

test('a network the account logged in from keeps logging in while strangers have used up the account\'s failures', async (t) => {
  const app = await throttledApp(t)
  const username = await newAccount(app)
  assert.equal((await logIn(app, username, '2001:db8:77:1::10', PASSWORD)).statusCode, 200)
  for (let i = 0; i < 10; i++) assert.equal((await logIn(app, username, stranger())).statusCode, 401)
  assertRefused(await logIn(app, username, stranger(), PASSWORD), 'a new network')
  // The user's own /64, from another address in it (a privacy address that changed meanwhile).
  assert.equal((await logIn(app, username, '2001:db8:77:1::99', PASSWORD)).statusCode, 200)
})

test('one network gets half the account\'s failures (5); other networks keep theirs', async (t) => {
  const app = await throttledApp(t)
  const username = await newAccount(app)
  assert.equal((await logIn(app, username, '203.0.113.70', PASSWORD)).statusCode, 200, 'a known network')
  for (let i = 0; i < 5; i++) assert.equal((await logIn(app, username, '203.0.113.70')).statusCode, 401)
  assertRefused(await logIn(app, username, '203.0.113.70', PASSWORD), 'the 6th from one network, known or not')
  assert.equal((await logIn(app, username, '203.0.113.71', PASSWORD)).statusCode, 200, 'the next address is another network')
})

test('successful logins are not counted as failures, and one clears its network\'s failures', async (t) => {
  const app = await throttledApp(t)
  const username = await newAccount(app)
  for (let i = 0; i < 12; i++) assert.equal((await logIn(app, username, stranger(), PASSWORD)).statusCode, 200, `login ${i + 1}`)
  const address = stranger()
  for (let i = 0; i < 4; i++) assert.equal((await logIn(app, username, address)).statusCode, 401)
  assert.equal((await logIn(app, username, address, PASSWORD)).statusCode, 200)
  for (let i = 0; i < 4; i++) assert.equal((await logIn(app, username, address)).statusCode, 401, 'the budget started afresh')
})

test('with Redis unreachable the per-account limit lets logins through rather than lock everyone out', async (t) => {
  const redis = await throwawayRedis(t)
  const app = await throttledApp(t, { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' })
  const username = await newAccount(app)
  await redis.stop()
  for (let i = 0; i < 11; i++) assert.equal((await logIn(app, username, '203.0.113.80')).statusCode, 401)
  assert.equal((await logIn(app, username, '203.0.113.80', PASSWORD)).statusCode, 200)
})
