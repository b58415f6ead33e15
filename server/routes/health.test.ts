import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { App } from '../app.js'
import { buildTestApp, createContent } from '../../test/helpers.js'
import { freePort as closedPort } from '../../test/throwaway.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** GET that follows redirects the way a browser would, a few hops at most. */
async function getFollowing(app: App, url: string) {
  let res = await app.inject({ method: 'GET', url })
  for (let hops = 0; hops < 3 && res.statusCode >= 300 && res.statusCode < 400; hops++) {
    res = await app.inject({ method: 'GET', url: new URL(String(res.headers.location), `http://localhost${url}`).pathname })
  }
  return res
}

test('/health/live answers 200 {status: ok}', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/health/live' })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { status: 'ok' })
})

test('/health/ready answers 200 when PostgreSQL and Redis both answer', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/health/ready' })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { status: 'ok', postgres: 'ok', redis: 'ok' })
})

test('without Redis, /health/ready answers 503 redis down while contents can still be read', async (t) => {
  const healthy = await buildTestApp(t)
  const item = await createContent(healthy)
  const app = await buildTestApp(t, { REDIS_URL: `redis://127.0.0.1:${await closedPort()}` })
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  assert.equal(ready.statusCode, 503)
  assert.deepEqual(ready.json(), { status: 'down', postgres: 'ok', redis: 'down' })
  // Reads need no Redis: the general rate limit is counted in memory, locks show as unknown (null).
  for (let i = 0; i < 3; i++) {
    const list = await app.inject({ method: 'GET', url: '/api/contents/' })
    assert.equal(list.statusCode, 200)
    assert.ok(list.json().count >= 1)
  }
  const detail = await app.inject({ method: 'GET', url: `/api/contents/${item.id}/` })
  assert.equal(detail.statusCode, 200)
  assert.equal(detail.json().title, item.title)
  assert.equal(detail.json().locked_until, null)
})

test('without PostgreSQL, /health/ready answers 503 postgres down', async (t) => {
  const app = await buildTestApp(t, { DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/tally` })
  const res = await app.inject({ method: 'GET', url: '/health/ready' })
  assert.equal(res.statusCode, 503)
  assert.deepEqual(res.json(), { status: 'down', postgres: 'down', redis: 'ok' })
  assert.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
  for (const url of ['/api/contents/', '/api/contents/1/']) {
    const read = await app.inject({ method: 'GET', url })
    assert.equal(read.statusCode, 503, url)
    assert.equal(read.json().code, 'service_unavailable', url)
  }
})

test('an unknown route answers a JSON 404 not_found', async (t) => {
  const app = await buildTestApp(t)
  for (const [method, url] of [['GET', '/nope'], ['POST', '/api/nope/'], ['DELETE', '/api/contents/']] as const) {
    const res = await app.inject({ method, url })
    assert.equal(res.statusCode, 404, `${method} ${url}`)
    assert.match(String(res.headers['content-type']), /^application\/json/)
    assert.equal(res.json().code, 'not_found', `${method} ${url}`)
  }
})

test('/docs/json is an OpenAPI document that lists the API routes', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  assert.equal(res.statusCode, 200)
  const doc = res.json()
  assert.match(doc.openapi, /^3\./)
  for (const path of ['/api/contents/', '/api/contents/{id}/', '/api/register/', '/api/auth/', '/api/auth/refresh/']) {
    assert.ok(path in doc.paths, `${path} is documented`)
  }
  assert.ok(doc.paths['/api/contents/'].get && doc.paths['/api/contents/'].post)
})

test('/docs answers an HTML page', async (t) => {
  const app = await buildTestApp(t)
  const res = await getFollowing(app, '/docs')
  assert.equal(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /^text\/html/)
  assert.match(res.body, /<html/i)
})

test('every response carries an x-request-id, errors and 404s included', async (t) => {
  const app = await buildTestApp(t)
  const responses = [
    await app.inject({ method: 'GET', url: '/health/live' }),
    await app.inject({ method: 'GET', url: '/nope' }),
    await app.inject({ method: 'GET', url: '/api/contents/abc/' }),
  ]
  for (const res of responses) assert.match(String(res.headers['x-request-id']), UUID)
  assert.notEqual(responses[0]!.headers['x-request-id'], responses[1]!.headers['x-request-id'])
})

test('a sane incoming x-request-id is echoed, anything else is replaced', async (t) => {
  const app = await buildTestApp(t)
  const sane = 'edge-01:req.42_A'
  const echoed = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': sane } })
  assert.equal(echoed.headers['x-request-id'], sane)
  for (const insane of ['has spaces in it', 'x'.repeat(65), '<script>', 'é']) {
    const res = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': insane } })
    assert.match(String(res.headers['x-request-id']), UUID, insane)
  }
})
