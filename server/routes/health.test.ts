// /health/live and /health/ready (routes/health.ts): the process is up; PostgreSQL and Redis answer, or which does not.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, createContent } from '../../test/helpers.js'
import { freePort as closedPort } from '../../devtools/ports.js'

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
