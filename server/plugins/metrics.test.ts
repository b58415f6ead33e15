// The API's metrics on this run's PostgreSQL and a Redis prefix of the test's own: Node's process metrics
// under their standard names, counters from 0, and locks counted as votes set them. They are read from the
// registry the metrics listener serves (server/main.ts): the API's own port has no /metrics.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, buildTestApp, createContent, registerUser, waitFor } from '../../test/helpers.js'
import { isolatedPrefix } from '../../test/consumer-helpers.js'
import { sampleOf } from '../../test/metrics-text.js'
import { VOTE_OUTCOMES } from '../../shared/redis/vote-script.js'

test('GET /metrics on the API\'s port is 404 not_found, as any unknown route', async (t) => {
  const app = await buildTestApp(t, { REDIS_PREFIX: isolatedPrefix() })
  for (const method of ['GET', 'HEAD'] as const) {
    const res = await app.inject({ method, url: '/metrics' })
    assert.equal(res.statusCode, 404, method)
    if (method === 'GET') assert.equal(res.json().code, 'not_found')
  }
})

test('the metrics have Node\'s process metrics under their standard names, labelled service="api", ' +
  'and every counter at 0 from the start', async (t) => {
  const app = await buildTestApp(t, { REDIS_PREFIX: isolatedPrefix() })
  const text = await app.metricsRegistry.metrics()
  const standard = ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds',
    'nodejs_heap_size_used_bytes']
  for (const name of standard) {
    assert.notEqual(sampleOf(text, name, { service: 'api' }), undefined, name)
  }
  assert.doesNotMatch(text, /^tally_api_process_|^tally_api_nodejs_/m, 'no prefixed copies')
  for (const outcome of VOTE_OUTCOMES) assert.equal(sampleOf(text, 'tally_votes_total', { outcome }), 0, outcome)
  assert.equal(sampleOf(text, 'tally_locks_set_total'), 0)
  assert.equal(sampleOf(text, 'tally_contents_locked'), 0)
  for (const kind of ['timeout', 'connection', 'reply']) {
    assert.equal(sampleOf(text, 'tally_redis_command_errors_total', { service: 'api', client: 'commands', kind }), 0, kind)
  }
})

test('a burst that locks a content counts one lock set and shows one content locked now', async (t) => {
  const app = await buildTestApp(t, { REDIS_PREFIX: isolatedPrefix(), VOTE_THRESHOLD_COUNT_LIMIT: '2', LOCK_DURATION: '600' })
  const voter = await registerUser(app)
  const [hot, calm] = [await createContent(app), await createContent(app)]
  const vote = (content: number) =>
    app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(voter.access), payload: { content, score: 3 } })
  for (let i = 0; i < 2; i++) assert.equal((await vote(hot.id)).statusCode, 202)
  assert.equal((await vote(hot.id)).statusCode, 429, 'one too many: the content locks')
  assert.equal((await vote(hot.id)).statusCode, 429, 'refused while locked: no new lock')
  assert.equal((await vote(calm.id)).statusCode, 202)
  const scrape = () => app.metricsRegistry.metrics()
  // The lock reaches this process as a pub/sub message: wait for it rather than for a fixed time.
  const text = await waitFor(async () => {
    const s = await scrape()
    return sampleOf(s, 'tally_locks_set_total') === 1 ? s : null
  }, { what: 'the lock to be counted' })
  assert.equal(sampleOf(text, 'tally_contents_locked'), 1)
  assert.equal(sampleOf(text, 'tally_votes_total', { outcome: 'content_locked' }), 2)
  assert.equal(sampleOf(await scrape(), 'tally_locks_set_total'), 1, 'a second scrape counts nothing twice')
})
