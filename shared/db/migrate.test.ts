// migrateDatabase on a database that does not exist yet: it creates it with every table, once, also when
// two processes race to do it, and an app on the result works.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { withDatabase } from '../../test/databases.js'
import { buildTestApp, createContent, registerUser, uniqueName } from '../../test/helpers.js'
import { migrateDatabase } from './migrate.js'

const TABLES = ['contents', 'counters', 'legacy_accounts', 'legacy_contents', 'legacy_imports', 'legacy_refresh_tokens', 'ranking_prior',
  'recorded_batches', 'recorded_entries', 'score_totals', 'stream_baselines', 'stream_entries', 'stream_horizons', 'users', 'votes']

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
    const rows = await sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by 1`
    return rows.map((r) => r.table_name)
  } finally {
    await sql.end()
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
