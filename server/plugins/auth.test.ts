// Tokens as plugins/auth.ts issues and honours them: refresh, the access/refresh split, and tokens that must not
// be honoured (expired, forged, alg none, a subject that is no user id).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { users } from '../../shared/db/schema.js'
import type { App } from '../app.js'
import { bearer, buildTestApp, registerUser, testConfig, uniqueName, waitFor } from '../../test/helpers.js'

const refresh = (app: App, token: string) => app.inject({ method: 'POST', url: '/api/auth/refresh/', payload: { refresh: token } })
const createAs = (app: App, token: string) =>
  app.inject({ method: 'POST', url: '/api/contents/', headers: bearer(token), payload: { title: uniqueName('title') } })

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
/** A JWT built by hand, so the test controls the header, the claims and the key. */
function handMadeToken(header: object, claims: object, secret?: string): string {
  const unsigned = `${b64url(header)}.${b64url(claims)}`
  return `${unsigned}.${secret === undefined ? '' : createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}
const nowSeconds = () => Math.floor(Date.now() / 1000)

test('a refresh token buys a new access token that identifies the same user', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  const res = await refresh(app, user.refresh)
  assert.equal(res.statusCode, 200)
  assert.deepEqual(Object.keys(res.json()), ['access'])
  const created = await createAs(app, res.json().access)
  assert.equal(created.statusCode, 201)
  assert.equal(created.json().author_id, user.id)
})

test('an access token is not a refresh token: /api/auth/refresh/ answers 401 token_invalid', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  const res = await refresh(app, user.access)
  assert.equal(res.statusCode, 401)
  assert.equal(res.json().code, 'token_invalid')
})

test('a refresh token is not an access token: content created with it has no author', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  const res = await createAs(app, user.refresh)
  assert.equal(res.statusCode, 201)
  assert.equal(res.json().author_id, null)
})

test('garbage, forged, alg-none and expired refresh tokens are refused with 401 token_invalid', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  const claims = { sub: String(user.id), token_type: 'refresh', iat: nowSeconds(), exp: nowSeconds() + 600 }
  const tokens: Record<string, string> = {
    garbage: 'not-a-jwt',
    'signed with another secret': handMadeToken({ alg: 'HS256', typ: 'JWT' }, claims, 'another-secret-that-is-long-enough-0123456789'),
    'alg none': handMadeToken({ alg: 'none', typ: 'JWT' }, claims),
    'alg none with a signature': `${handMadeToken({ alg: 'none', typ: 'JWT' }, claims)}c2lnbmF0dXJl`,
    'tampered subject': (() => {
      const [h, , s] = user.refresh.split('.')
      return `${h}.${b64url({ ...claims, sub: String(user.id + 1) })}.${s}`
    })(),
    expired: app.jwt.sign({ sub: String(user.id), token_type: 'refresh', iat: nowSeconds() - 120, exp: nowSeconds() - 60 }),
  }
  for (const [why, token] of Object.entries(tokens)) {
    const res = await refresh(app, token)
    assert.equal(res.statusCode, 401, why)
    assert.equal(res.json().code, 'token_invalid', why)
  }
  // The same claims, signed with the app's own secret, pass: the refusals above are about the token, not the claims.
  assert.equal((await refresh(app, handMadeToken({ alg: 'HS256', typ: 'JWT' }, claims, testConfig().JWT_SECRET))).statusCode, 200)
})

test('a token whose subject is not a user id is refused with 401 token_invalid', async (t) => {
  const app = await buildTestApp(t)
  for (const sub of ['0', 'abc', '99999999999', undefined]) {
    const res = await refresh(app, app.jwt.sign({ sub, token_type: 'refresh' }))
    assert.equal(res.statusCode, 401, String(sub))
    assert.equal(res.json().code, 'token_invalid', String(sub))
  }
})

test('an expired access token is ignored on public routes: reads answer 200 and writes record no author', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  const expired = app.jwt.sign({ sub: String(user.id), token_type: 'access', iat: nowSeconds() - 120, exp: nowSeconds() - 60 })
  const created = await createAs(app, expired)
  assert.equal(created.statusCode, 201)
  assert.equal(created.json().author_id, null)
  for (const url of ['/api/contents/', `/api/contents/${created.json().id}/`]) {
    const res = await app.inject({ method: 'GET', url, headers: bearer(expired) })
    assert.equal(res.statusCode, 200, url)
  }
})

test('an access token stops being honoured once its lifetime has passed', async (t) => {
  const app = await buildTestApp(t, { JWT_ACCESS_TTL: '1' })
  const user = await registerUser(app)
  assert.equal((await createAs(app, user.access)).json().author_id, user.id)
  // Content created with the one-second token loses its author once the token has expired.
  await waitFor(async () => (await createAs(app, user.access)).json().author_id === null, { what: 'the access token to expire' })
  const fresh = await refresh(app, user.refresh)
  assert.equal(fresh.statusCode, 200)
  assert.equal((await createAs(app, fresh.json().access)).json().author_id, user.id)
})

test('a deactivated or deleted user\'s refresh token is refused with 401 token_invalid: no new access token', async (t) => {
  const app = await buildTestApp(t)
  const deactivated = await registerUser(app)
  const deleted = await registerUser(app)
  assert.equal((await refresh(app, deactivated.refresh)).statusCode, 200, 'while active')
  await app.db.update(users).set({ isActive: false }).where(eq(users.id, deactivated.id))
  await app.db.delete(users).where(eq(users.id, deleted.id))
  for (const [why, user] of [['deactivated', deactivated], ['deleted', deleted]] as const) {
    const res = await refresh(app, user.refresh)
    assert.equal(res.statusCode, 401, why)
    assert.equal(res.json().code, 'token_invalid', why)
  }
  // Reactivated, the same refresh token works again: it was the account that was refused, not the token.
  await app.db.update(users).set({ isActive: true }).where(eq(users.id, deactivated.id))
  assert.equal((await refresh(app, deactivated.refresh)).statusCode, 200)
})
