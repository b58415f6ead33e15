import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor } from '../test/helpers.js'
import { metricsRoute, startMetricsServer, type Route } from './metrics-server.js'

/** A logger that keeps its lines: what an operator would read. */
function recordingLog() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = []
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => { lines.push({ level, obj, msg }) }
  return { lines, log: { info: at('info'), warn: at('warn') } as never }
}

async function serve(t: TestContext, routes: Record<string, Route>) {
  const { lines, log } = recordingLog()
  const server = startMetricsServer(routes, { host: '127.0.0.1', port: 0, log })
  t.after(() => server.close())
  const at = await server.listening
  assert.ok(at)
  const base = `http://127.0.0.1:${at.port}`
  return { server, lines, port: at.port, get: (path: string, init?: RequestInit) => fetch(`${base}${path}`, init) }
}

test('the listener answers its routes, 404 on other paths, 405 on other methods, 503 with the reason when a route fails', async (t) => {
  const { get, lines } = await serve(t, {
    '/metrics': metricsRoute(async () => 'tally_votes_total{outcome="accepted"} 3\n'),
    '/broken': async () => { throw new Error('worker 42 did not answer') },
  })
  const ok = await get('/metrics?x=1')
  assert.deepEqual([ok.status, ok.headers.get('content-type'), await ok.text()],
    [200, 'text/plain; version=0.0.4; charset=utf-8', 'tally_votes_total{outcome="accepted"} 3\n'])
  assert.equal((await get('/metrics', { method: 'HEAD' })).status, 200)
  for (const path of ['/', '/nothing', '/constructor', '/__proto__']) assert.equal((await get(path)).status, 404, path)
  const post = await get('/metrics', { method: 'POST' })
  assert.deepEqual([post.status, post.headers.get('allow')], [405, 'GET, HEAD'])
  const broken = await get('/broken')
  assert.deepEqual([broken.status, await broken.text()], [503, 'worker 42 did not answer\n'])
  assert.ok(lines.some((l) => l.level === 'warn' && l.msg === 'metrics scrape failed'))
})

test('a port already taken costs the endpoint, not the process: logged, and listening resolves to nothing', async (t) => {
  const first = await serve(t, {})
  const { lines, log } = recordingLog()
  const second = startMetricsServer({}, { host: '127.0.0.1', port: first.port, log })
  assert.equal(await second.listening, undefined)
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [['warn', 'metrics endpoint not served']])
  await second.close()
})

test('close() ends the listener at once, a scrape under way or not: a stop never waits on a stuck scrape', async (t) => {
  let answer = () => {}
  const stuck = new Promise<string>((resolve) => { answer = () => resolve('x 1\n') })
  t.after(() => answer())
  let isAsked = false
  const { server, port, lines } = await serve(t, { '/metrics': metricsRoute(() => { isAsked = true; return stuck }) })
  const scrape = fetch(`http://127.0.0.1:${port}/metrics`)
  await waitFor(() => isAsked, { what: 'the scrape to arrive' })
  await server.close()
  await assert.rejects(scrape, 'the scrape under way is cut off')
  await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'nothing listens any more')
  assert.ok(!lines.some((l) => l.level === 'warn'))
})

test('close() asked before the listen completes leaves nothing listening', async () => {
  const { log } = recordingLog()
  const server = startMetricsServer({}, { host: '127.0.0.1', port: 0, log })
  const closing = server.close()
  const at = await server.listening
  await closing
  assert.ok(at)
  await assert.rejects(fetch(`http://127.0.0.1:${at.port}/`))
})
