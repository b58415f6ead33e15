// Start-up from nothing: migrating a database that does not exist yet, and the real entry point
// (server/main.ts) as a child process: it listens, answers, and exits cleanly on SIGTERM or bad config.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { migrateDatabase } from '../shared/db/migrate.js'
import { withDatabase } from './databases.js'
import { buildTestApp, createContent, registerUser, uniqueName, waitFor } from './helpers.js'
import { freePort } from './throwaway.js'

const ROOT = new URL('..', import.meta.url).pathname
const TABLES = ['contents', 'counters', 'users', 'votes']

const adminSql = () => postgres(withDatabase(process.env.DATABASE_URL!, 'postgres'), { max: 1, onnotice: () => {} })

/**
 * A database name that does not exist yet. It starts with this run's prefix, so test/run.ts
 * drops it even if this test's own clean-up never runs.
 */
function freshDatabase(t: TestContext): string {
  const template = process.env.TALLY_TEST_TEMPLATE_DB
  if (!template || !process.env.DATABASE_URL) throw new Error('run tests with npm test (test/run.ts sets the databases up)')
  const name = `${template.replace(/_tpl$/, '')}_fresh_${randomBytes(4).toString('hex')}`
  t.after(async () => {
    const sql = adminSql()
    await sql`drop database if exists ${sql(name)} with (force)`
    await sql.end()
  })
  return withDatabase(process.env.DATABASE_URL, name)
}

async function tablesOf(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const rows = await sql<{ table_name: string }[]>`select table_name from information_schema.tables where table_schema = 'public' order by 1`
    return rows.map((r) => r.table_name)
  } finally {
    await sql.end()
  }
}

interface Started { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> }

/** Runs server/main.ts as production would, with `env` over a clean base; killed when the test ends. */
function startServer(t: TestContext, env: Record<string, string>): Started {
  const { PATH, HOME } = process.env
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { PATH, HOME, NODE_ENV: 'test', REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: process.env.REDIS_PREFIX, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (chunk) => { out += chunk })
  child.stderr!.on('data', (chunk) => { err += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** The exit code, or a failure naming what the process said if it has not exited within `timeoutMs`. */
async function exitCodeOf(started: Started, timeoutMs = 15_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs}ms\nstdout: ${started.stdout()}\nstderr: ${started.stderr()}`)), timeoutMs)
  })
  try {
    return await Promise.race([started.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

test('migrating a database that does not exist creates it with every table, and a second run changes nothing', async (t) => {
  const url = freshDatabase(t)
  assert.deepEqual(await migrateDatabase(url), { created: true })
  assert.deepEqual(await tablesOf(url), TABLES)
  assert.deepEqual(await migrateDatabase(url), { created: false })
  assert.deepEqual(await tablesOf(url), TABLES)
})

test('two processes migrating the same new database at once both succeed, and one created it', async (t) => {
  const url = freshDatabase(t)
  const results = await Promise.all([migrateDatabase(url), migrateDatabase(url)])
  assert.equal(results.filter((r) => r.created).length, 1)
  assert.deepEqual(await tablesOf(url), TABLES)
})

test('an app on a freshly migrated database can register, create and list', async (t) => {
  const url = freshDatabase(t)
  await migrateDatabase(url)
  const app = await buildTestApp(t, { DATABASE_URL: url, REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName()}:` })
  const user = await registerUser(app)
  const item = await createContent(app, user.access)
  assert.equal(item.author_id, user.id)
  const list = await app.inject({ method: 'GET', url: '/api/contents/' })
  assert.equal(list.statusCode, 200)
  assert.equal(list.json().count, 1)
  assert.deepEqual(list.json().results.map((r: { id: number }) => r.id), [item.id])
})

test('the entry point listens, answers /health/live, and exits 0 on SIGTERM', async (t) => {
  const url = freshDatabase(t)
  await migrateDatabase(url)
  const port = await freePort()
  const server = startServer(t, { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: url, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '5000' })
  const live = await waitFor(async () => {
    if (server.child.exitCode !== null) throw new Error(`server exited early: ${server.stderr()}`)
    const res = await fetch(`http://127.0.0.1:${port}/health/live`)
    return res.status === 200 ? res.json() : undefined
  }, { timeoutMs: 20_000, what: 'the server to answer /health/live' })
  assert.deepEqual(live, { status: 'ok' })
  server.child.kill('SIGTERM')
  assert.equal(await exitCodeOf(server), 0, server.stderr())
  assert.match(server.stdout(), /"level":30/, 'logs JSON lines at info level')
})

test('the entry point refuses a bad PORT: non-zero exit and a message naming PORT', async (t) => {
  const server = startServer(t, { PORT: 'abc', LOG_LEVEL: 'info' })
  const code = await exitCodeOf(server)
  assert.notEqual(code, 0)
  assert.notEqual(code, null)
  assert.match(server.stderr(), /\bPORT\b/)
})
