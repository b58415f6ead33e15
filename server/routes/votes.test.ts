import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSigner } from 'fast-jwt'
import { bearer, buildTestApp, createContent, registerUser, uniqueName, waitFor } from '../../test/helpers.js'
import type { App } from '../app.js'
import { parseReceipt } from '../vote-receipt.js'

const SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789'
// Each test gets its own key space, so windows, locks and streams never leak between tests.
const isolated = (extra: Record<string, string> = {}) => ({ REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName('v')}:`, ...extra })
const vote = (app: App, token: string, payload: unknown) =>
  app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(token), payload: payload as object })
const pairsOf = (fields: string[]) => Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i]!, fields[2 * i + 1]!])
const streamEntries = async (app: App) => (await app.redis.xrange(app.keys.stream(0), '-', '+'))
  .map(([id, fields]) => ({ id, ...Object.fromEntries(pairsOf(fields)) }))

test('an accepted vote answers 202 with its receipt, the stream tag and entry id, and is on that stream with its fields', async (t) => {
  const app = await buildTestApp(t, isolated())
  const user = await registerUser(app)
  const content = await createContent(app)
  const res = await vote(app, user.access, { content: content.id, score: 4 })
  assert.equal(res.statusCode, 202)
  const body = res.json()
  assert.deepEqual({ ...body, id: undefined }, { content: content.id, score: 4, status: 'accepted', id: undefined })
  const entries = await streamEntries(app)
  assert.equal(entries.length, 1)
  assert.equal(body.id, `0:${entries[0]!.id}`, 'one shard: the stream votes:{0}')
  assert.equal(entries[0]!.user, String(user.id))
  assert.equal(entries[0]!.content, String(content.id))
  assert.equal(entries[0]!.score, '4')
  // The entry id carries the time the vote was accepted (Redis' clock): no separate timestamp field.
  assert.ok(Math.abs(Number(parseReceipt(body.id)!.entryId.split('-')[0]) - Date.now()) < 60_000)
  assert.equal(entries[0]!.ts, undefined)
})

test('the vote after LIMIT in a window is refused with 429 content_locked and Retry-After', async (t) => {
  const app = await buildTestApp(t, isolated({ VOTE_THRESHOLD_COUNT_LIMIT: '10' }))
  const user = await registerUser(app)
  const content = await createContent(app)
  for (let i = 0; i < 10; i++) assert.equal((await vote(app, user.access, { content: content.id, score: i % 6 })).statusCode, 202)
  const res = await vote(app, user.access, { content: content.id, score: 3 })
  assert.equal(res.statusCode, 429)
  assert.equal(res.json().code, 'content_locked')
  assert.equal(res.headers['retry-after'], '120')
  const again = await vote(app, user.access, { content: content.id, score: 3 })
  assert.equal(again.json().code, 'content_locked')
  assert.ok(Number(again.headers['retry-after']) > 0 && Number(again.headers['retry-after']) <= 120)
  assert.equal((await streamEntries(app)).length, 10, 'only the accepted votes are on the stream')
  const detail = (await app.inject({ url: `/api/contents/${content.id}/` })).json()
  assert.ok(Date.parse(detail.locked_until) > Date.now(), 'the detail shows when the lock ends')
  const list = (await app.inject({ url: '/api/contents/?page_size=100' })).json()
  assert.equal(list.results.find((c: { id: number }) => c.id === content.id)?.locked_until, detail.locked_until)
})

test('200 concurrent votes on one content: exactly LIMIT accepted, the rest content_locked', async (t) => {
  const app = await buildTestApp(t, isolated({ VOTE_THRESHOLD_COUNT_LIMIT: '10' }))
  const users = await Promise.all(Array.from({ length: 5 }, () => registerUser(app)))
  const content = await createContent(app)
  const results = await Promise.all(Array.from({ length: 200 },
    (_, i) => vote(app, users[i % 5]!.access, { content: content.id, score: i % 6 })))
  const codes = results.map((r) => r.statusCode)
  assert.equal(codes.filter((c) => c === 202).length, 10)
  assert.equal(codes.filter((c) => c === 429).length, 190)
  assert.ok(results.filter((r) => r.statusCode === 429).every((r) => r.json().code === 'content_locked'))
  const accepted = new Set(results.filter((r) => r.statusCode === 202).map((r) => r.json().id))
  assert.deepEqual(new Set((await streamEntries(app)).map((e) => `0:${e.id}`)), accepted)
})

test('a lock is per content: other contents keep accepting votes', async (t) => {
  const app = await buildTestApp(t, isolated({ VOTE_THRESHOLD_COUNT_LIMIT: '2' }))
  const user = await registerUser(app)
  const [a, b] = [await createContent(app), await createContent(app)]
  for (let i = 0; i < 2; i++) await vote(app, user.access, { content: a.id, score: 1 })
  assert.equal((await vote(app, user.access, { content: a.id, score: 1 })).statusCode, 429)
  assert.equal((await vote(app, user.access, { content: b.id, score: 1 })).statusCode, 202)
  assert.equal((await app.inject({ url: `/api/contents/${b.id}` })).json().locked_until, null)
})

test('the lock expires after LOCK_DURATION and a fresh window opens', async (t) => {
  const app = await buildTestApp(t, isolated({ VOTE_THRESHOLD_COUNT_LIMIT: '2', LOCK_DURATION: '1', VOTE_THRESHOLD_PERIOD: '60' }))
  const user = await registerUser(app)
  const content = await createContent(app)
  for (let i = 0; i < 2; i++) assert.equal((await vote(app, user.access, { content: content.id, score: 5 })).statusCode, 202)
  assert.equal((await vote(app, user.access, { content: content.id, score: 5 })).statusCode, 429)
  await waitFor(async () => (await app.inject({ url: `/api/contents/${content.id}/` })).json().locked_until === null,
    { what: 'the lock to expire' })
  // A new window: LIMIT more votes are accepted, then the content locks again.
  for (let i = 0; i < 2; i++) assert.equal((await vote(app, user.access, { content: content.id, score: 2 })).statusCode, 202)
  assert.equal((await vote(app, user.access, { content: content.id, score: 2 })).json().code, 'content_locked')
})

test('a window expires VOTE_THRESHOLD_PERIOD after its first vote, forgetting its count', async (t) => {
  const app = await buildTestApp(t, isolated({ VOTE_THRESHOLD_COUNT_LIMIT: '2', VOTE_THRESHOLD_PERIOD: '1' }))
  const user = await registerUser(app)
  const content = await createContent(app)
  for (let i = 0; i < 2; i++) assert.equal((await vote(app, user.access, { content: content.id, score: 3 })).statusCode, 202)
  await waitFor(async () => (await app.redis.exists(app.keys.window(content.id))) === 0, { what: 'the window to expire' })
  for (let i = 0; i < 2; i++) assert.equal((await vote(app, user.access, { content: content.id, score: 3 })).statusCode, 202)
})

test('unknown content is refused with 404 content_not_found and never reaches the stream', async (t) => {
  const app = await buildTestApp(t, isolated())
  const user = await registerUser(app)
  await createContent(app)
  const res = await vote(app, user.access, { content: 2_000_000_000, score: 3 })
  assert.equal(res.statusCode, 404)
  assert.equal(res.json().code, 'content_not_found')
  assert.equal((await streamEntries(app)).length, 0)
})

test('votes without a valid access token are refused with 401', async (t) => {
  const app = await buildTestApp(t, isolated())
  const user = await registerUser(app)
  const content = await createContent(app)
  const payload = { content: content.id, score: 3 }
  const none = await app.inject({ method: 'POST', url: '/api/vote/', payload })
  assert.equal(none.statusCode, 401)
  assert.equal(none.json().code, 'not_authenticated')
  const now = Math.floor(Date.now() / 1000)
  const claims = { sub: String(user.id), token_type: 'access' }
  const tokens = {
    malformed: 'not-a-jwt',
    refresh: user.refresh,
    expired: createSigner({ key: SECRET })({ ...claims, iat: now - 100, exp: now - 50 }),
    wrongSecret: createSigner({ key: 'another-secret-another-secret-another-secret' })(claims),
    hs512: createSigner({ key: SECRET, algorithm: 'HS512' })(claims),
    algNone: createSigner({ algorithm: 'none' })(claims),
  }
  for (const [name, token] of Object.entries(tokens)) {
    const res = await vote(app, token, payload)
    assert.equal(res.statusCode, 401, name)
    assert.equal(res.json().code, 'token_invalid', name)
  }
  const basic = await app.inject({
    method: 'POST', url: '/api/vote/', payload, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
  })
  assert.equal(basic.statusCode, 401)
  assert.equal((await streamEntries(app)).length, 0)
})

test('every malformed vote body is refused with 400 invalid_request', async (t) => {
  const app = await buildTestApp(t, isolated())
  const user = await registerUser(app)
  const content = await createContent(app)
  const bad: unknown[] = [
    {}, { content: content.id }, { score: 3 }, { content: String(content.id), score: 3 }, { content: content.id, score: '3' },
    { content: content.id, score: 2.5 }, { content: content.id + 0.5, score: 2 }, { content: null, score: 3 },
    { content: content.id, score: null },
    { content: content.id, score: -1 }, { content: content.id, score: 6 }, { content: 0, score: 3 }, { content: -5, score: 3 },
    { content: 2 ** 31, score: 3 }, { content: 1e300, score: 3 }, { content: content.id, score: 3, user: 1 }, [content.id, 3], 'vote', 42,
  ]
  for (const payload of bad) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/vote/',
      headers: { ...bearer(user.access), 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    })
    assert.equal(res.statusCode, 400, JSON.stringify(payload))
    assert.equal(res.json().code, 'invalid_request', JSON.stringify(payload))
  }
  const broken = await app.inject({
    method: 'POST', url: '/api/vote/', headers: { ...bearer(user.access), 'content-type': 'application/json' }, payload: '{"content": 1,',
  })
  assert.equal(broken.json().code, 'malformed_json')
  assert.equal((await streamEntries(app)).length, 0)
})

test('a form-encoded vote is converted by the schema and accepted', async (t) => {
  const app = await buildTestApp(t, isolated())
  const user = await registerUser(app)
  const content = await createContent(app)
  const res = await app.inject({
    method: 'POST', url: '/api/vote/', headers: { ...bearer(user.access), 'content-type': 'application/x-www-form-urlencoded' },
    payload: `content=${content.id}&score=5`,
  })
  assert.equal(res.statusCode, 202)
  assert.equal(res.json().score, 5)
})

test('a form-encoded score or content that is not a plain whole number is refused, never rounded', async (t) => {
  const app = await buildTestApp(t, isolated())
  const user = await registerUser(app)
  const content = await createContent(app)
  const notWhole = ['score=4.9', 'score=1e3', 'score=0x3', 'score=true', 'score=%204%20', 'score=-0.5',
    `content=${content.id}.7&score=3`, 'score=']
  for (const fields of notWhole) {
    const body = fields.startsWith('content=') ? fields : `content=${content.id}&${fields}`
    const res = await app.inject({
      method: 'POST',
      url: '/api/vote/',
      headers: { ...bearer(user.access), 'content-type': 'application/x-www-form-urlencoded' },
      payload: body,
    })
    assert.equal(res.statusCode, 400, body)
    assert.equal(res.json().code, 'invalid_request', body)
  }
})

test('an anonymous vote is 401 whatever its body: malformed, empty, oversized or of another type', async (t) => {
  const app = await buildTestApp(t, isolated())
  const cases: [string, Record<string, string>, string][] = [
    ['malformed JSON', { 'content-type': 'application/json' }, '{'],
    ['empty JSON', { 'content-type': 'application/json' }, ''],
    ['text/plain', { 'content-type': 'text/plain' }, 'hi'],
    ['over 16 KiB', { 'content-type': 'application/json' }, JSON.stringify({ content: 1, score: 1, pad: 'x'.repeat(20_000) })],
  ]
  for (const [why, headers, payload] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/vote/', headers, payload })
    assert.equal(res.statusCode, 401, why)
    assert.equal(res.json().code, 'not_authenticated', why)
  }
})

test('a voter over RATE_LIMIT_PER_MINUTE gets 429 rate_limited with Retry-After; other voters are unaffected', async (t) => {
  const app = await buildTestApp(t, isolated({ RATE_LIMIT_PER_MINUTE: '3' }))
  const [greedy, other] = [await registerUser(app), await registerUser(app)]
  const content = await createContent(app)
  for (let i = 0; i < 3; i++) assert.equal((await vote(app, greedy.access, { content: content.id, score: 1 })).statusCode, 202)
  const refused = await vote(app, greedy.access, { content: content.id, score: 1 })
  assert.equal(refused.statusCode, 429)
  assert.equal(refused.json().code, 'rate_limited')
  assert.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 60)
  assert.equal((await vote(app, other.access, { content: content.id, score: 2 })).statusCode, 202)
  assert.equal((await streamEntries(app)).length, 4, 'the refused vote is not on the stream')
  const metrics = await app.metricsRegistry.metrics()
  assert.match(metrics, /tally_votes_total\{outcome="rate_limited"\} 1/)
  assert.match(metrics, /tally_votes_total\{outcome="accepted"\} 4/)
})
