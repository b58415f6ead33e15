// `npm start`'s supervisor (launcher/supervisor.ts) as a terminal runs it: Ctrl-C stops the API and the
// consumers gracefully (each finishes its work and exits 0), and children never outlive a supervisor
// that was killed outright.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { emptyDatabase, uniqueName, waitFor } from './helpers.js'
import { exitCodeOf, startNode, type Started } from './processes.js'
import { freePort } from '../devtools/ports.js'

interface Supervisor extends Started { port: number; metricsPort: number }

/** The pids every JSON log line names: the API's and the consumer's. */
const childPids = (output: string) => [...new Set([...output.matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1])))]

async function startSupervisor(t: TestContext): Promise<Supervisor> {
  const port = await freePort()
  const metricsPort = await freePort()
  const { PATH, HOME } = process.env
  // detached: a process group of its own, as a shell gives a foreground job, so the test can signal the group.
  const sup = startNode(t, 'launcher/start.ts', {
    detached: true,
    env: {
      PATH, HOME, NODE_ENV: 'test', DATABASE_URL: await emptyDatabase(t), REDIS_URL: process.env.REDIS_URL,
      REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName('sup')}:`, HOST: '127.0.0.1', PORT: String(port),
      METRICS_PORT: String(metricsPort), CONSUMERS: '1', CONSUMER_METRICS_PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '5000',
      JWT_SECRET: 'a-test-secret-that-is-long-enough-0123456789',
    },
  })
  const { child, output } = sup
  // The API and the consumer have process groups of their own: killing the supervisor's group misses them.
  t.after(() => {
    for (const pid of childPids(output())) {
      try { process.kill(pid, 'SIGKILL') } catch { /* gone already */ }
    }
  })
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output()}`)
    const live = await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false)
    return live && output().includes('"msg":"consumer started"')
  }, { timeoutMs: 30_000, what: 'the API and the consumer to be up' })
  return { ...sup, port, metricsPort }
}

test('Ctrl-C on npm start stops the API and the consumer gracefully: each finishes, and everything exits 0', async (t) => {
  const sup = await startSupervisor(t)
  process.kill(-sup.child.pid!, 'SIGINT') // what a terminal does: the whole foreground process group
  assert.equal(await exitCodeOf(sup), 0, sup.output())
  assert.match(sup.output(), /"msg":"consumer stopped"/)
  assert.match(sup.output(), /"msg":"closing: finishing in-flight requests"/)
  assert.doesNotMatch(sup.output(), /second SIG|grace period over/, 'no child was told twice to stop')
})

test('a supervisor killed outright takes its API and consumer down with it, gracefully', async (t) => {
  const sup = await startSupervisor(t)
  process.kill(sup.child.pid!, 'SIGKILL')
  await waitFor(async () => !(await fetch(`http://127.0.0.1:${sup.port}/health/live`).then((r) => r.ok, () => false)),
    { timeoutMs: 15_000, what: 'the API to stop answering' })
  await waitFor(() => /"msg":"consumer stopped"/.test(sup.output()), { timeoutMs: 15_000, what: 'the consumer to stop' })
  await waitFor(() => childPids(sup.output()).every((pid) => {
    try { process.kill(pid, 0); return false } catch { return true }
  }), { timeoutMs: 15_000, what: 'no child process left' })
})

test('an API that crashes is restarted, and the new one counts the restart in its metrics', async (t) => {
  const sup = await startSupervisor(t)
  assert.match(sup.output(), new RegExp(`^tally: metrics: api http://127\\.0\\.0\\.1:${sup.metricsPort}/metrics$`, 'm'), 'npm start says where to scrape')
  const metrics = () => fetch(`http://127.0.0.1:${sup.metricsPort}/metrics`).then((r) => r.text())
  const first = await waitFor(() => metrics().catch(() => ''), { what: 'the API\'s metrics listener' })
  assert.match(first, /^tally_supervisor_restarts_total\{service="api"\} 0$/m)
  const pid = Number(/^tally_api_processes\{pid="(\d+)"\} 1$/m.exec(first)?.[1])
  process.kill(pid, 'SIGKILL')
  const after = await waitFor(async () => {
    const text = await metrics().catch(() => '')
    return /^tally_supervisor_restarts_total\{service="api"\} 1$/m.test(text) ? text : null
  }, { timeoutMs: 30_000, what: 'a restarted API counting one restart' })
  assert.doesNotMatch(after, new RegExp(`pid="${pid}"`), 'another process answers now')
  process.kill(-sup.child.pid!, 'SIGINT')
  assert.equal(await exitCodeOf(sup), 0, sup.output())
})
