// API_PROCESSES=2: server/main.ts as a node:cluster primary (server/api-workers.ts) with two workers on one
// port. Both serve, they share the vote locks (in Redis), one metrics listener (the primary's, on METRICS_PORT)
// answers for the whole cluster while the API's port has no /metrics, a killed worker is replaced, and a stop
// signal, to the primary alone or to the whole group, stops every worker gracefully and exits 0.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { emptyDatabase, uniqueName, waitFor } from './helpers.js'
import { exitCodeOf, startNode } from './processes.js'
import { freePort } from '../devtools/ports.js'

const LIMIT = 3

interface Reply { status: number; body: any }

// A connection the primary hands to a worker at the moment that worker is killed is never answered
// (node:cluster loses it): a request gives up after this, so polling goes on with the next one.
const REQUEST_TIMEOUT_MS = 5000

/**
 * One request on a connection of its own (agent: false): the primary deals connections out to the
 * workers in turn, so requests on one kept-alive connection would all reach the same worker.
 */
function send(port: number, method: string, path: string,
  opts: { token?: string; body?: unknown; requestId?: string } = {}): Promise<Reply> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body)
  const headers: Record<string, string> = {}
  if (payload !== undefined) headers['content-type'] = 'application/json'
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  if (opts.requestId) headers['x-request-id'] = opts.requestId
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => { text += chunk })
      res.on('end', () => {
        resolve({ status: res.statusCode!, body: res.headers['content-type']?.includes('json') ? JSON.parse(text) : text })
      })
    })
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer to ${method} ${path} within ${REQUEST_TIMEOUT_MS} ms`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/** The pids of the tally_api_processes series in an aggregated scrape: one per live worker. */
const processPids = (metrics: string) => [...metrics.matchAll(/^tally_api_processes\{pid="(\d+)"\} 1$/gm)].map((m) => Number(m[1])).sort()
const votesCounted = (metrics: string, outcome: string) =>
  Number(metrics.match(new RegExp(`^tally_votes_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm'))?.[1])
const isGone = (pid: number) => { try { process.kill(pid, 0); return false } catch { return true } }

async function startCluster(t: TestContext) {
  const port = await freePort()
  const metricsPort = await freePort()
  const { PATH, HOME } = process.env
  // No JWT_SECRET: the primary generates one, so tokens only work across workers if they all get its secret.
  const api = startNode(t, 'server/main.ts', {
    detached: true, // a process group of its own: "nothing left behind" is then "the group is empty"
    // The IPC channel, as npm start opens one: if this test process dies before its t.after, the primary
    // notices (shared/supervised.ts) and stops its workers instead of running on.
    ipc: true,
    env: {
      PATH, HOME, NODE_ENV: 'test', DATABASE_URL: await emptyDatabase(t), REDIS_URL: process.env.REDIS_URL,
      REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName('cluster')}:`, HOST: '127.0.0.1', PORT: String(port),
      METRICS_PORT: String(metricsPort), // METRICS_HOST left to its default, loopback
      API_PROCESSES: '2', VOTE_THRESHOLD_COUNT_LIMIT: String(LIMIT), LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '5000',
      RATE_LIMIT_PER_MINUTE: '1000000', RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
    },
  })
  const { child, output } = api
  const metrics = async () => {
    if (child.exitCode !== null) throw new Error(`the primary exited early:\n${output()}`)
    const res = await send(metricsPort, 'GET', '/metrics')
    return res.status === 200 ? res.body as string : undefined
  }
  const workerPids = () => waitFor(async () => {
    const pids = processPids((await metrics()) ?? '')
    return pids.length === 2 ? pids : undefined
  }, { timeoutMs: 30_000, what: 'both workers in one scrape of the metrics listener' })
  /** Exits 0, each worker having closed once and gracefully, and no process of the group is left. */
  const assertStoppedCleanly = async () => {
    assert.equal(await exitCodeOf(api), 0, output())
    assert.equal(output().match(/"msg":"closing: finishing in-flight requests"/g)?.length, 2, 'each worker closed gracefully, once')
    assert.doesNotMatch(output(), /second signal|killed by timeout/)
    // Polled: tsx's esbuild helper (development only) ends when it sees its parent's pipe close, just after.
    await waitFor(() => isGone(-child.pid!), { what: 'no process of the group to be left' })
  }
  /** The pid of the worker that answered the request sent with `requestId`, from that worker's log line. */
  const servedBy = (requestId: string) => waitFor(() => {
    for (const line of output().split('\n')) {
      if (line.includes(`"reqId":"${requestId}"`) && line.includes('"msg":"request completed"')) return Number(JSON.parse(line).pid)
    }
    return undefined
  }, { what: `the log line of ${requestId}` })
  return { child, port, metricsPort, output, metrics, workerPids, servedBy, assertStoppedCleanly }
}

test('API_PROCESSES=2 serves one port from two workers that share locks and metrics, and SIGTERM stops them all', async (t) => {
  const api = await startCluster(t)
  const workers = await api.workerPids()
  assert.ok(!workers.includes(api.child.pid!), 'the primary serves no requests itself')
  // One metrics listener for the cluster, the primary's: no worker tried for the port, and the API's port has none.
  const listening = [...api.output().matchAll(/^.*"msg":"metrics endpoint listening".*$/gm)].map((m) => JSON.parse(m[0]))
  assert.deepEqual(listening.map((l) => [l.pid, l.address, l.port]), [[api.child.pid, '127.0.0.1', api.metricsPort]])
  assert.doesNotMatch(api.output(), /metrics endpoint not served/)
  for (let i = 0; i < 2; i++) {
    const res = await send(api.port, 'GET', '/metrics') // a connection each: both workers are asked in turn
    assert.deepEqual([res.status, res.body.code], [404, 'not_found'])
  }

  const users = await Promise.all(Array.from({ length: 4 }, async () => {
    const username = uniqueName()
    const password = 'correct horse battery'
    assert.equal((await send(api.port, 'POST', '/api/register/', { body: { username, password } })).status, 201)
    const login = await send(api.port, 'POST', '/api/auth/', { body: { username, password } })
    assert.equal(login.status, 200)
    return login.body.access as string
  }))
  const content = await send(api.port, 'POST', '/api/contents/', { token: users[0], body: { title: uniqueName('t'), description: 'x' } })
  assert.equal(content.status, 201)

  // Votes from every user in turn, each on a new connection, until both workers have refused one as locked.
  const votes: { status: number; code?: string; pid: number }[] = []
  await waitFor(async () => {
    const requestId = `vote-${votes.length}`
    const token = users[votes.length % users.length]
    const res = await send(api.port, 'POST', '/api/vote/', { token, body: { content: content.body.id, score: 4 }, requestId })
    votes.push({ status: res.status, code: res.body?.code, pid: await api.servedBy(requestId) })
    return new Set(votes.filter((v) => v.code === 'content_locked').map((v) => v.pid)).size === 2
  }, { intervalMs: 0, what: 'both workers to refuse a vote with content_locked' })
  // The lock is one for the cluster: the first LIMIT votes pass, whichever worker took them, and every later one is refused.
  assert.deepEqual(votes.map((v) => v.status), votes.map((_, i) => (i < LIMIT ? 202 : 429)))
  assert.ok(votes.slice(LIMIT).every((v) => v.code === 'content_locked'))
  assert.deepEqual([...new Set(votes.map((v) => v.pid))].sort(), workers, 'the votes were answered by the two workers')

  // The lock count is read at most once a second (a scrape earlier in this test may have left a 0 to reuse).
  const metrics = await waitFor(async () => {
    const text = await api.metrics()
    return text !== undefined && /^tally_contents_locked 1$/m.test(text) ? text : undefined
  }, { what: 'aggregated /metrics counting the locked content' })
  assert.equal(votesCounted(metrics, 'accepted'), LIMIT, 'accepted votes over both workers')
  assert.equal(votesCounted(metrics, 'content_locked'), votes.length - LIMIT, 'locked refusals over both workers')
  assert.match(metrics, /^tally_contents_locked 1$/m, 'the one locked content, counted once for the cluster')

  // A worker that dies is replaced by a new one, and the cluster keeps serving meanwhile.
  process.kill(workers[0]!, 'SIGKILL')
  const replaced = await waitFor(async () => {
    const pids = processPids((await api.metrics()) ?? '')
    return pids.length === 2 && !pids.includes(workers[0]!) ? pids : undefined
  }, { timeoutMs: 30_000, what: 'a new worker in place of the killed one' })
  assert.ok(replaced.includes(workers[1]!), 'the other worker served on')

  process.kill(api.child.pid!, 'SIGTERM') // as `docker stop` does: the primary alone
  await api.assertStoppedCleanly()
})

test('Ctrl-C at a terminal running the cluster (SIGINT to every process) stops each worker once and exits 0', async (t) => {
  const api = await startCluster(t)
  await api.workerPids()
  // Each worker hears the SIGINT and the primary's request to stop: one stop, not "a second signal, exit now".
  process.kill(-api.child.pid!, 'SIGINT')
  await api.assertStoppedCleanly()
})
