// Tokens the Django service (simplejwt) issued: HS256 over its SECRET_KEY, claims token_type, user_id, exp, jti.
// With JWT_LEGACY_SECRET they keep working across the switch; without it they are refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { bearer, buildTestApp, createContent, registerUser } from '../../test/helpers.js'

const DJANGO_SECRET = 'django-insecure-0123456789abcdefghijklmnopqrstuvwxyz'
const signOld = createSigner({ key: DJANGO_SECRET, algorithm: 'HS256', expiresIn: 300_000 })
const oldToken = (type: 'access' | 'refresh', userId: number, jti: string | undefined = randomUUID().replace(/-/g, '')) =>
  signOld({ token_type: type, user_id: userId, ...(jti ? { jti } : {}) })

test('an access token of the Django service is accepted with JWT_LEGACY_SECRET and refused without it', async (t) => {
  const withLegacy = await buildTestApp(t, { JWT_LEGACY_SECRET: DJANGO_SECRET })
  const user = await registerUser(withLegacy)
  const content = await createContent(withLegacy, user.access)
  const token = oldToken('access', user.id)
  const vote = (app: typeof withLegacy) => app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(token), payload: { content: content.id, score: 3 } })
  assert.equal((await vote(withLegacy)).statusCode, 202)
  const without = await buildTestApp(t)
  const refused = await vote(without)
  assert.equal(refused.statusCode, 401)
  assert.equal(refused.json().code, 'token_invalid')
  // Its refresh token is not an access token, whatever it is signed with.
  const wrongType = await withLegacy.inject({ method: 'POST', url: '/api/vote/', headers: bearer(oldToken('refresh', user.id)), payload: { content: content.id, score: 3 } })
  assert.equal(wrongType.statusCode, 401)
})

test('a refresh token of the Django service is traded once for a pair of tally tokens, then refused', async (t) => {
  const app = await buildTestApp(t, { JWT_LEGACY_SECRET: DJANGO_SECRET })
  const user = await registerUser(app)
  const refresh = oldToken('refresh', user.id)
  const trade = () => app.inject({ method: 'POST', url: '/api/auth/refresh/', payload: { refresh } })
  const first = await trade()
  assert.equal(first.statusCode, 200, first.body)
  const { access, refresh: next } = first.json()
  assert.ok(access && next, 'an access and a refresh token of tally')
  assert.equal((await app.inject({ method: 'POST', url: '/api/auth/refresh/', payload: { refresh: next } })).json().refresh, undefined,
    'tally\'s own refresh token renews only the access token, as before')
  const again = await trade()
  assert.equal(again.statusCode, 401)
  assert.match(again.json().detail ?? again.json().message ?? again.body, /already traded/)
  const noJti = await app.inject({ method: 'POST', url: '/api/auth/refresh/', payload: { refresh: oldToken('refresh', user.id, '') } })
  assert.equal(noJti.statusCode, 401, 'a refresh token without a jti could be traded for ever: refused')
})
