import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { buildApp, type App } from '../app.js'
import { loggerOptions } from '../../shared/logger.js'
import { buildTestApp, registerUser, testConfig, uniqueName } from '../../test/helpers.js'

const PASSWORD = 'correct horse battery'
const register = (app: App, payload: unknown) => app.inject({ method: 'POST', url: '/api/register/', payload: payload as object })
const login = (app: App, payload: object, remoteAddress?: string) =>
  app.inject({ method: 'POST', url: '/api/auth/', payload, ...(remoteAddress ? { remoteAddress } : {}) })
/** "alice_1" → "ａｌｉｃｅ＿１": the fullwidth forms NFKC folds back to ASCII. */
const fullwidth = (text: string) => text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))

test('registering answers 201 with the id and username only, never the password or its hash', async (t) => {
  const app = await buildTestApp(t)
  const username = uniqueName()
  const res = await register(app, { username, password: PASSWORD })
  assert.equal(res.statusCode, 201)
  const body = res.json()
  assert.deepEqual(Object.keys(body).sort(), ['id', 'username'])
  assert.ok(Number.isInteger(body.id) && body.id > 0)
  assert.equal(body.username, username)
  assert.ok(!res.body.includes(PASSWORD))
  assert.ok(!/argon2|hash/i.test(res.body))
})

test('a username already taken is refused with 409 username_taken, whatever its case or compatibility form', async (t) => {
  const app = await buildTestApp(t)
  const username = uniqueName('alice')
  assert.equal((await register(app, { username, password: PASSWORD })).statusCode, 201)
  for (const taken of [username, username.toUpperCase(), fullwidth(username), fullwidth(username.toUpperCase())]) {
    const res = await register(app, { username: taken, password: PASSWORD })
    assert.equal(res.statusCode, 409, taken)
    assert.equal(res.json().code, 'username_taken', taken)
  }
})

test('a registration body that breaks the rules is refused with 400 invalid_request', async (t) => {
  const app = await buildTestApp(t)
  const username = uniqueName()
  const bad: Record<string, unknown> = {
    'missing username': { password: PASSWORD },
    'missing password': { username },
    'empty username': { username: '', password: PASSWORD },
    '151-character username': { username: 'a'.repeat(151), password: PASSWORD },
    'username with a space': { username: `${username} x`, password: PASSWORD },
    '7-character password': { username, password: '1234567' },
    '1025-character password': { username, password: 'p'.repeat(1025) },
    'number password': { username, password: 12345678 },
    'number username': { username: 12345678, password: PASSWORD },
    'unknown extra field': { username, password: PASSWORD, is_staff: true },
    'array body': [username, PASSWORD],
    'NUL in first_name': { username, password: PASSWORD, first_name: 'a\u0000' },
    'NUL in last_name': { username, password: PASSWORD, last_name: '\u0000' },
    'NUL in the username': { username: `${username}\u0000`, password: PASSWORD },
    'a password with a lone surrogate': { username, password: '\ud800'.repeat(8) },
    'a lone surrogate in first_name': { username, password: PASSWORD, first_name: 'a\udc00' },
  }
  for (const [why, payload] of Object.entries(bad)) {
    const res = await register(app, payload)
    assert.equal(res.statusCode, 400, why)
    assert.equal(res.json().code, 'invalid_request', why)
  }
  // None of them created the account.
  assert.equal((await register(app, { username, password: PASSWORD })).statusCode, 201)
})

test('a username of exactly 150 characters and a password of 8 or 1024 are accepted', async (t) => {
  const app = await buildTestApp(t)
  const long = uniqueName().padEnd(150, 'x')
  assert.equal((await register(app, { username: long, password: '12345678' })).statusCode, 201)
  assert.equal((await register(app, { username: uniqueName(), password: 'p'.repeat(1024) })).statusCode, 201)
})

test('malformed JSON is refused with 400 malformed_json', async (t) => {
  const app = await buildTestApp(t)
  for (const payload of ['{"username": "x", "password": ', '']) {
    const res = await app.inject({ method: 'POST', url: '/api/register/', headers: { 'content-type': 'application/json' }, payload })
    assert.equal(res.statusCode, 400, JSON.stringify(payload))
    assert.equal(res.json().code, 'malformed_json', JSON.stringify(payload))
  }
})

test('a body over the route\'s limit is refused with 413 body_too_large', async (t) => {
  const app = await buildTestApp(t)
  // Registration's limit fits every field at its maximum in any encoding (server/body-limit.ts): about 22 KiB.
  const res = await register(app, { username: uniqueName(), password: 'p'.repeat(64 * 1024) })
  assert.equal(res.statusCode, 413)
  assert.equal(res.json().code, 'body_too_large')
})

test('a text/plain body is refused with 415 unsupported_media_type', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({
    method: 'POST', url: '/api/register/', headers: { 'content-type': 'text/plain' },
    payload: `username=${uniqueName()}&password=${PASSWORD}`,
  })
  assert.equal(res.statusCode, 415)
  assert.equal(res.json().code, 'unsupported_media_type')
})

test('a form-urlencoded registration creates the account, which can then log in', async (t) => {
  const app = await buildTestApp(t)
  const username = uniqueName()
  const res = await app.inject({
    method: 'POST', url: '/api/register/', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ username, password: PASSWORD }).toString(),
  })
  assert.equal(res.statusCode, 201)
  assert.equal(res.json().username, username)
  assert.equal((await login(app, { username, password: PASSWORD })).statusCode, 200)
})

test('logging in answers 200 with an access and a refresh token', async (t) => {
  const app = await buildTestApp(t)
  const username = uniqueName()
  await register(app, { username, password: PASSWORD })
  const res = await login(app, { username, password: PASSWORD })
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.deepEqual(Object.keys(body).sort(), ['access', 'refresh'])
  for (const token of [body.access, body.refresh]) assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/)
  assert.notEqual(body.access, body.refresh)
})

test('logging in with another case or the fullwidth form of the username reaches the same account', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  for (const username of [user.username.toUpperCase(), fullwidth(user.username)]) {
    assert.equal((await login(app, { username, password: PASSWORD })).statusCode, 200, username)
  }
})

test('a wrong password and an unknown username get the same 401 invalid_credentials body', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  const wrong = await login(app, { username: user.username, password: 'not the password' })
  const unknown = await login(app, { username: uniqueName('nobody'), password: PASSWORD })
  assert.equal(wrong.statusCode, 401)
  assert.equal(unknown.statusCode, 401)
  assert.equal(wrong.json().code, 'invalid_credentials')
  assert.deepEqual(unknown.json(), wrong.json())
})

test('an empty login body field is refused with 400 invalid_request', async (t) => {
  const app = await buildTestApp(t)
  for (const payload of [
    { username: '', password: PASSWORD }, { username: uniqueName() }, { username: uniqueName(), password: PASSWORD, extra: 1 },
    { username: 'a\u0000b', password: PASSWORD },
  ]) {
    const res = await login(app, payload)
    assert.equal(res.statusCode, 400, JSON.stringify(payload))
    assert.equal(res.json().code, 'invalid_request')
  }
})

test('the 4th login from one IP within a minute is refused with 429 rate_limited, other IPs are not', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_AUTH_PER_MINUTE: '3', REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName()}:` })
  const payload = { username: uniqueName('nobody'), password: PASSWORD }
  for (let i = 0; i < 3; i++) assert.equal((await login(app, payload, '10.9.8.7')).statusCode, 401)
  const limited = await login(app, payload, '10.9.8.7')
  assert.equal(limited.statusCode, 429)
  assert.equal(limited.json().code, 'rate_limited')
  assert.ok(Number(limited.headers['retry-after']) > 0)
  const other = await login(app, payload, '10.9.8.8')
  assert.equal(other.statusCode, 401)
  assert.equal(other.json().code, 'invalid_credentials')
})

test('neither passwords nor their hashes reach the logs, even at debug level and on rejected requests', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write: (chunk, _enc, done) => { lines.push(String(chunk)); done() } })
  const app = await buildApp(testConfig({ LOG_LEVEL: 'debug' }), { logger: { ...loggerOptions('debug', 'tally-api'), stream } })
  t.after(() => app.close())
  const password = `pw-${uniqueName()}`
  const username = uniqueName()
  const json = { 'content-type': 'application/json' }
  await register(app, { username, password })
  await register(app, { username, password })
  await login(app, { username, password })
  await login(app, { username, password: `${password}-wrong` })
  await register(app, { username: `${username} bad`, password })
  await app.inject({
    method: 'POST', url: '/api/register/', headers: json, payload: `{"username":"${username}","password":"${password}",}`,
  })
  await app.inject({ method: 'POST', url: '/api/auth/', headers: json, payload: `{"username":"${username}","password":"${password}"` })
  assert.ok(lines.length > 0, 'the app logged something at debug level')
  const leaked = lines.filter((line) => line.includes(password) || line.includes('$argon2'))
  assert.deepEqual(leaked, [])
})
