// Tokens the Django service (simplejwt) issued: HS256 over its SECRET_KEY, claims token_type, user_id, exp, jti, iat.
// With JWT_LEGACY_SECRET they keep working across the switch, but only for accounts the import brought over, that
// are active, and for tokens issued before the cut-over; every other one is 401 token_invalid. Each test has a
// database of its own: the cut-over is the newest import recorded, whoever recorded it.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import { eq } from 'drizzle-orm'
import type { App } from '../app.js'
import { legacyAccounts, legacyImports, users } from '../../shared/db/schema.js'
import { bearer, buildTestApp, createContent, emptyDatabase, registerUser, uniqueName, waitFor } from '../../test/helpers.js'

const DJANGO_SECRET = 'django-insecure-0123456789abcdefghijklmnopqrstuvwxyz'
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
/** HS256 by hand: the claims exactly as given (a signing library adds an iat of its own). */
function sign(claims: object): string {
  const unsigned = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`
  return `${unsigned}.${createHmac('sha256', DJANGO_SECRET).update(unsigned).digest('base64url')}`
}
const nowSeconds = () => Math.floor(Date.now() / 1000)
const HOUR = 3600

interface OldToken { type?: 'access' | 'refresh'; userId: number; iat?: number | null; lifetime?: number; jti?: string }
/** A token as simplejwt makes it; iat null leaves the claim out (simplejwt before 5). */
function oldToken({ type = 'access', userId, iat = nowSeconds() - 120, lifetime = HOUR, jti = randomUUID().replace(/-/g, '') }: OldToken) {
  const issued = iat ?? nowSeconds() - 60
  return sign({ token_type: type, user_id: userId, jti, exp: issued + lifetime, ...(iat === null ? {} : { iat }) })
}

/** An app on a database of its own, with the old service's key, and an import recorded `cutOverAgo` seconds ago. */
async function appAfterImport(
  t: TestContext, { cutOverAgo = 60, env = {} }: { cutOverAgo?: number | null; env?: Record<string, string> } = {}
) {
  const app = await buildTestApp(t, { DATABASE_URL: await emptyDatabase(t), JWT_LEGACY_SECRET: DJANGO_SECRET, ...env })
  if (cutOverAgo !== null) {
    await app.db.insert(legacyImports)
      .values({ sourceReadAt: new Date(Date.now() - cutOverAgo * 1000), usersLastId: 1000, contentsLastId: 1000 })
  }
  return app
}

/** An account as the import writes it: a users row and its legacy_accounts row. */
async function importedUser(app: App, isActive = true): Promise<number> {
  const username = uniqueName('old')
  const hash = 'pbkdf2_sha256$1000$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o='
  const [row] = await app.db.insert(users).values({ username, usernameKey: username, passwordHash: hash, isActive })
    .returning({ id: users.id })
  await app.db.insert(legacyAccounts).values({
    userId: row!.id, sourceHash: hash, writtenHash: hash, isActive, username, email: '', firstName: '', lastName: '',
  })
  return row!.id
}

async function voteWith(app: App, token: string) {
  const content = await createContent(app)
  return app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(token), payload: { content: content.id, score: 3 } })
}
const refreshWith = (app: App, refresh: string) => app.inject({ method: 'POST', url: '/api/auth/refresh/', payload: { refresh } })

function assertRefused(res: Awaited<ReturnType<App['inject']>>, why: string) {
  assert.equal(res.statusCode, 401, `${why}: ${res.body}`)
  assert.equal(res.json().code, 'token_invalid', why)
}

test('an imported, active account\'s old access token votes, and its old refresh token is traded once', async (t) => {
  const app = await appAfterImport(t)
  const userId = await importedUser(app)
  const access = oldToken({ userId })
  assert.equal((await voteWith(app, access)).statusCode, 202)
  assert.equal((await voteWith(app, access)).statusCode, 202, 'again, from the token cache')

  const refresh = oldToken({ type: 'refresh', userId })
  const first = await refreshWith(app, refresh)
  assert.equal(first.statusCode, 200, first.body)
  const pair = first.json()
  assert.ok(pair.access && pair.refresh, 'an access and a refresh token of tally')
  assert.equal((await voteWith(app, pair.access)).statusCode, 202)
  const again = await refreshWith(app, refresh)
  assertRefused(again, 'traded twice')
  assert.match(again.json().message, /already traded/)
  assert.equal((await refreshWith(app, pair.refresh)).json().refresh, undefined, 'tally\'s own refresh token renews only the access token')
  assertRefused(await refreshWith(app, oldToken({ type: 'refresh', userId, jti: '' })),
    'a refresh token without a jti could be traded for ever')
  assertRefused(await voteWith(app, oldToken({ type: 'refresh', userId })), 'a refresh token is not an access token')
})

test('an old token for the id of an account born in tally, or of nobody, is refused 401 token_invalid', async (t) => {
  const app = await appAfterImport(t)
  await importedUser(app)
  const newcomer = await registerUser(app) // the id a user the import skipped had in Django
  for (const userId of [newcomer.id, newcomer.id + 1000]) {
    assertRefused(await voteWith(app, oldToken({ userId })), `access for ${userId}`)
    assertRefused(await refreshWith(app, oldToken({ type: 'refresh', userId })), `refresh for ${userId}`)
  }
  assert.equal((await voteWith(app, newcomer.access)).statusCode, 202, 'the newcomer\'s own token still works')
})

test('an old token issued after the cut-over, or with no iat, or claiming a longer life than the old service gave, ' +
  'is refused', async (t) => {
  const app = await appAfterImport(t, { cutOverAgo: HOUR, env: { JWT_LEGACY_REFRESH_TTL: String(2 * HOUR) } })
  const userId = await importedUser(app)
  const cases: [string, OldToken][] = [
    ['issued after the cut-over', { userId, iat: nowSeconds() - 60 }],
    ['without iat', { userId, iat: null }],
    ['lifetime over JWT_LEGACY_REFRESH_TTL', { userId, iat: nowSeconds() - 2 * HOUR, lifetime: 3 * HOUR }],
  ]
  for (const [why, claims] of cases) {
    assertRefused(await voteWith(app, oldToken(claims)), why)
    assertRefused(await refreshWith(app, oldToken({ ...claims, type: 'refresh' })), `${why} (refresh)`)
  }
  assert.equal((await voteWith(app, oldToken({ userId, iat: nowSeconds() - 2 * HOUR + 60, lifetime: 2 * HOUR }))).statusCode, 202,
    'issued before the cut-over, within the old lifetime: honoured')
})

test('an old token of an imported account that is not active is refused, access and refresh', async (t) => {
  const app = await appAfterImport(t)
  const inactive = await importedUser(app, false)
  assertRefused(await voteWith(app, oldToken({ userId: inactive })), 'access')
  assertRefused(await refreshWith(app, oldToken({ type: 'refresh', userId: inactive })), 'refresh')

  // Deactivated in tally after its old refresh token was already accepted once: no more tokens.
  const active = await importedUser(app)
  const traded = await refreshWith(app, oldToken({ type: 'refresh', userId: active }))
  assert.equal(traded.statusCode, 200)
  await app.db.update(users).set({ isActive: false }).where(eq(users.id, active))
  assertRefused(await refreshWith(app, traded.json().refresh), 'tally\'s refresh token of a deactivated account')
  assertRefused(await refreshWith(app, oldToken({ type: 'refresh', userId: active })), 'another old refresh token of it')
  assertRefused(await voteWith(app, oldToken({ userId: active })), 'an old access token not seen before')
})

test('an old access token already in use stops working within JWT_ACCESS_TTL of its account\'s deactivation', async (t) => {
  const app = await appAfterImport(t, { env: { JWT_ACCESS_TTL: '1' } })
  const userId = await importedUser(app)
  const access = oldToken({ userId }) // valid for an hour: longer than tally's access tokens live here
  assert.equal((await voteWith(app, access)).statusCode, 202)
  await app.db.update(users).set({ isActive: false }).where(eq(users.id, userId))
  await waitFor(async () => (await voteWith(app, access)).statusCode === 401, { what: 'the deactivation to reach the cached token' })
})

test('before any import is recorded, and without JWT_LEGACY_SECRET, no old token is honoured', async (t) => {
  const before = await appAfterImport(t, { cutOverAgo: null })
  const userId = await importedUser(before)
  assertRefused(await voteWith(before, oldToken({ userId })), 'no cut-over yet')
  assertRefused(await refreshWith(before, oldToken({ type: 'refresh', userId })), 'no cut-over yet (refresh)')

  const without = await buildTestApp(t)
  const user = await registerUser(without)
  assertRefused(await voteWith(without, oldToken({ userId: user.id })), 'no JWT_LEGACY_SECRET')
})
