import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import { eq } from 'drizzle-orm'
import { contents } from '../shared/db/schema.js'
import { bearer, buildTestApp, createContent, registerUser, waitFor } from './helpers.js'
import { throwawayRedis } from './throwaway.js'

test('with Redis gone a vote fails fast with 503 queue_unavailable, reads keep working, and votes recover', async (t) => {
  const redis = await throwawayRedis(t)
  const app = await buildTestApp(t, { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' })
  const user = await registerUser(app)
  const content = await createContent(app)
  const vote = () => app.inject({
    method: 'POST', url: '/api/vote/', headers: bearer(user.access), payload: { content: content.id, score: 2 },
  })
  assert.equal((await vote()).statusCode, 202)

  await redis.stop()
  const started = Date.now()
  const refused = await vote()
  assert.equal(refused.statusCode, 503)
  assert.equal(refused.json().code, 'queue_unavailable')
  assert.ok(Date.now() - started < 5000, 'the refusal does not wait for Redis to come back')
  const detail = await app.inject({ url: `/api/contents/${content.id}/` })
  assert.equal(detail.statusCode, 200, 'reads do not need Redis')
  assert.equal(detail.json().locked_until, null)
  assert.equal((await app.inject({ url: '/api/contents/' })).statusCode, 200, 'the rate limiter fails open')
  assert.equal((await app.inject({ url: '/health/ready' })).statusCode, 503)

  await redis.start()
  // The restarted Redis is empty: the first vote rebuilds the content index from PostgreSQL.
  const recovered = await waitFor(async () => ((await vote()).statusCode === 202), { what: 'votes to be accepted again' })
  assert.ok(recovered)
  assert.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)
})

test('after Redis loses its data, real contents are still accepted and unknown ones still refused', async (t) => {
  const redis = await throwawayRedis(t)
  const app = await buildTestApp(t, { REDIS_URL: redis.url })
  const user = await registerUser(app)
  const before = await createContent(app)
  const admin = new Redis(redis.url)
  t.after(() => admin.quit())
  await admin.flushdb() // the throwaway server's own data, never the machine's Redis
  const after = await createContent(app) // sets its bit in a bitmap that lacks every older one
  for (const id of [before.id, after.id]) {
    const res = await app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(user.access), payload: { content: id, score: 5 } })
    assert.equal(res.statusCode, 202, `content ${id}`)
  }
  const unknown = await app.inject({
    method: 'POST', url: '/api/vote/', headers: bearer(user.access), payload: { content: after.id + 1000, score: 5 },
  })
  assert.equal(unknown.statusCode, 404)
  assert.equal(await admin.xlen(app.keys.stream(0)), 2)
})

test('creating content while Redis is down fails with 503 and leaves no row behind', async (t) => {
  const redis = await throwawayRedis(t)
  const app = await buildTestApp(t, { REDIS_URL: redis.url })
  const title = `orphan-${Date.now()}`
  await redis.stop()
  const res = await app.inject({ method: 'POST', url: '/api/contents/', payload: { title } })
  assert.equal(res.statusCode, 503)
  assert.equal(res.json().code, 'service_unavailable')
  const rows = await app.db.select({ id: contents.id }).from(contents).where(eq(contents.title, title))
  assert.equal(rows.length, 0)
})

test('a content whose creation failed while Redis hung is unknown to votes once Redis wakes', async (t) => {
  const redis = await throwawayRedis(t)
  t.after(() => redis.resume())
  const app = await buildTestApp(t, { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' })
  const user = await registerUser(app)
  redis.pause()
  const failed = await app.inject({ method: 'POST', url: '/api/contents/', payload: { title: 'created while redis hung' } })
  assert.equal(failed.statusCode, 503)
  redis.resume() // the SETBIT that timed out runs now
  const next = await createContent(app)
  const ghost = next.id - 1 // the rolled-back insert's id: identities are never handed out twice
  assert.equal((await app.inject({ url: `/api/contents/${ghost}/` })).statusCode, 404)
  const vote = await waitFor(async () => {
    const res = await app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(user.access), payload: { content: ghost, score: 4 } })
    return res.statusCode === 503 ? undefined : res // the connection may still be recovering
  }, { what: 'a vote answered' })
  assert.equal(vote.statusCode, 404, vote.body)
  assert.equal(vote.json().code, 'content_not_found')
})
