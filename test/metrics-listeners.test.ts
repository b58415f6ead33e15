// The operators' listeners of the real entry points: the API's metrics on METRICS_PORT, never on its public
// port; a consumer's metrics and probes on CONSUMER_METRICS_PORT; both bound to loopback unless METRICS_HOST
// says otherwise, so nobody off the machine can make a scrape happen.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { networkInterfaces } from 'node:os'
import { sampleOf } from './metrics-text.js'
import { isolatedPrefix, startConsumer } from './consumer-helpers.js'
import { uniqueName, waitFor } from './helpers.js'
import { startNode, stopProcess } from './processes.js'
import { freePort } from '../devtools/ports.js'

/** An IPv4 address of this machine that is not loopback: where a loopback-only listener must not answer. */
function outsideAddress(t: TestContext): string | undefined {
  const address = Object.values(networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4')?.address
  if (!address) t.diagnostic('this host has no address besides loopback: the not-reachable-from-outside half is not checked')
  return address
}

/** Whether host:port takes a TCP connection (a refusal is immediate on an address of this machine). */
const takesConnections = (host: string, port: number) => new Promise<boolean>((resolve, reject) => {
  const socket = connect({ host, port })
  socket.setTimeout(5000, () => { socket.destroy(); reject(new Error(`no answer at all from ${host}:${port}`)) })
  socket.once('connect', () => { socket.destroy(); resolve(true) })
  socket.once('error', () => resolve(false))
})

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('the API serves its metrics on METRICS_PORT, on loopback only; its own port answers /metrics with 404 not_found', async (t) => {
  const [port, metricsPort] = [await freePort(), await freePort()]
  const { PATH, HOME } = process.env
  const api = startNode(t, 'server/main.ts', {
    env: {
      PATH, HOME, NODE_ENV: 'test', DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL,
      REDIS_PREFIX: isolatedPrefix(),
      HOST: '127.0.0.1', PORT: String(port), METRICS_PORT: String(metricsPort), LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '5000',
    },
  })
  const base = `http://127.0.0.1:${port}`
  await waitFor(async () => {
    if (api.child.exitCode !== null) throw new Error(`the API exited early:\n${api.output()}`)
    return (await fetch(`${base}/health/ready`)).ok
  }, { timeoutMs: 20_000, what: 'the API to be ready' })

  const username = uniqueName()
  assert.equal((await fetch(`${base}/api/register/`, json({ username, password: 'correct horse battery' }))).status, 201)
  const login = await fetch(`${base}/api/auth/`, json({ username, password: 'correct horse battery' }))
  const { access } = await login.json() as { access: string }
  const authorized = (body: unknown) => {
    const req = json(body)
    return { ...req, headers: { ...req.headers, authorization: `Bearer ${access}` } }
  }
  const content = await (await fetch(`${base}/api/contents/`, authorized({ title: uniqueName('t') }))).json() as { id: number }
  assert.equal((await fetch(`${base}/api/vote/`, authorized({ content: content.id, score: 4 }))).status, 202)

  const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  assert.equal(scrape.status, 200)
  assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain/)
  const text = await scrape.text()
  assert.equal(sampleOf(text, 'tally_votes_total', { outcome: 'accepted' }), 1)
  assert.equal(sampleOf(text, 'tally_api_processes', { pid: String(api.child.pid) }), 1)

  const onPublicPort = await fetch(`${base}/metrics`)
  assert.deepEqual([onPublicPort.status, (await onPublicPort.json() as { code: string }).code], [404, 'not_found'])
  const outside = outsideAddress(t)
  if (outside) assert.equal(await takesConnections(outside, metricsPort), false, `the metrics port is not open on ${outside}`)

  assert.equal(await stopProcess(api, 'SIGTERM'), 0, api.output())
  assert.equal(await takesConnections('127.0.0.1', metricsPort), false, 'the metrics listener closed with the API')
})

test('a consumer serves its metrics and probes on loopback by default, on every address with METRICS_HOST=0.0.0.0', async (t) => {
  const outside = outsideAddress(t)
  for (const host of ['', '0.0.0.0']) {
    const port = await freePort()
    // HOST blank too: it is the API's address, and a consumer's listener used to follow it (:: by default).
    const consumer = startConsumer(t, process.env.DATABASE_URL!, isolatedPrefix(), {
      CONSUMER_METRICS_PORT: String(port), HOST: '', METRICS_HOST: host,
    })
    await waitFor(async () => {
      if (consumer.child.exitCode !== null) throw new Error(`the consumer exited early:\n${consumer.output()}`)
      return (await fetch(`http://127.0.0.1:${port}/health/live`)).ok
    }, { timeoutMs: 20_000, what: 'the consumer\'s /health/live' })
    if (outside) {
      assert.equal(await takesConnections(outside, port), host === '0.0.0.0', `METRICS_HOST=${host || '(unset)'}: open on ${outside}`)
    }
  }
})
