import { randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import postgres from 'postgres'
import { loadConfig, type Config } from '../shared/config.js'
import { buildApp, type App } from '../server/app.js'
import { withDatabase } from './databases.js'

type Env = Record<string, string | undefined>

/** A unique, valid name for users, prefixes and the like; tests never share data. */
export const uniqueName = (prefix = 'u') => `${prefix}_${randomBytes(6).toString('hex')}`

/**
 * Config for a test: this run's database and Redis prefix (set by test/run.ts), limits high enough
 * that tests sharing one IP do not trip them, silent logs. `overrides` wins over everything.
 */
export function testConfig(overrides: Env = {}): Config {
  return loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
    LOGIN_FAILURES_PER_ACCOUNT: '1000000',
    ...overrides,
  })
}

/** The whole API on this run's database and Redis, closed when the test ends. */
export async function buildTestApp(t: TestContext, overrides: Env = {}): Promise<App> {
  const app = await buildApp(testConfig(overrides))
  t.after(() => app.close())
  await app.ready()
  return app
}

export interface TestUser { id: number; username: string; password: string; access: string; refresh: string }

export async function registerUser(app: App, username = uniqueName()): Promise<TestUser> {
  const password = 'correct horse battery'
  const reg = await app.inject({ method: 'POST', url: '/api/register/', payload: { username, password } })
  if (reg.statusCode !== 201) throw new Error(`register failed: ${reg.statusCode} ${reg.body}`)
  const login = await app.inject({ method: 'POST', url: '/api/auth/', payload: { username, password } })
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`)
  return { id: reg.json().id, username, password, ...login.json() }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

export async function createContent(app: App, token?: string, title = uniqueName('title')) {
  const res = await app.inject({
    method: 'POST', url: '/api/contents/', payload: { title, description: `about ${title}` }, headers: token ? bearer(token) : {},
  })
  if (res.statusCode !== 201) throw new Error(`create content failed: ${res.statusCode} ${res.body}`)
  return res.json() as { id: number; title: string; description: string; author_id: number | null }
}

/** Poll until a condition holds (devtools/wait.ts): no fixed sleeps in tests. */
export { waitFor } from '../devtools/wait.js'

/** A fresh, migrated, empty database cloned from this run's template; dropped when the test ends. */
export async function emptyDatabase(t: TestContext): Promise<string> {
  const template = process.env.TALLY_TEST_TEMPLATE_DB
  const base = process.env.DATABASE_URL
  if (!template || !base) throw new Error('run tests with npm test (test/run.ts sets the databases up)')
  const name = `${template.replace(/_tpl$/, '')}_${randomBytes(4).toString('hex')}`
  const admin = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} })
  try {
    await admin`create database ${admin(name)} template ${admin(template)}`
  } finally {
    await admin.end()
  }
  t.after(async () => {
    const sql = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} })
    await sql`drop database if exists ${sql(name)} with (force)`
    await sql.end()
  })
  return withDatabase(base, name)
}
