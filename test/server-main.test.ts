// The real entry point (server/main.ts) as a child process: it listens, answers, and exits cleanly on
// SIGTERM or bad config.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { emptyDatabase, waitFor } from './helpers.js'
import { exitCodeOf, startNode, stopProcess } from './processes.js'
import { freePort } from '../devtools/ports.js'

/** server/main.ts as production runs it, with `env` over a clean base. */
const startServer = (t: TestContext, env: Record<string, string>) => {
  const { PATH, HOME } = process.env
  const { REDIS_URL, REDIS_PREFIX } = process.env
  return startNode(t, 'server/main.ts', { env: { PATH, HOME, NODE_ENV: 'test', REDIS_URL, REDIS_PREFIX, METRICS_PORT: '0', ...env } })
}

test('the entry point listens, answers /health/live, and exits 0 on SIGTERM', async (t) => {
  const url = await emptyDatabase(t)
  const port = await freePort()
  const server = startServer(t, { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: url, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '5000' })
  const live = await waitFor(async () => {
    if (server.child.exitCode !== null) throw new Error(`server exited early: ${server.stderr()}`)
    const res = await fetch(`http://127.0.0.1:${port}/health/live`)
    return res.status === 200 ? res.json() : undefined
  }, { timeoutMs: 20_000, what: 'the server to answer /health/live' })
  assert.deepEqual(live, { status: 'ok' })
  assert.equal(await stopProcess(server, 'SIGTERM'), 0, server.stderr())
  assert.match(server.stdout(), /"level":30/, 'logs JSON lines at info level')
})

test('the entry point refuses a bad PORT: non-zero exit and a message naming PORT', async (t) => {
  const server = startServer(t, { PORT: 'abc', LOG_LEVEL: 'info' })
  const code = await exitCodeOf(server)
  assert.notEqual(code, 0)
  assert.notEqual(code, null)
  assert.match(server.stderr(), /\bPORT\b/)
})
