/**
 * `npm test`: one PostgreSQL database and one Redis key prefix per run, so runs never see each
 * other's data. Migrate a template nobody connects to, clone this run's database from it, run
 * node:test over every *.test.ts, then drop both databases and delete the prefix's keys, always.
 */
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import postgres from 'postgres'
import { Redis } from 'ioredis'
import { migrateDatabase } from '../shared/db/migrate.js'
import { ROOT, startProcess } from '../devtools/processes.js'
import { withDatabase } from './databases.js'
import { deleteKeysWithPrefix } from '../shared/redis/delete-prefix.js'

const SEARCHED = ['server', 'consumer', 'shared', 'cli', 'audit', 'django-import', 'devtools', 'bench', 'test']
const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === 'node_modules' || name.startsWith('.')) return []
    if (statSync(path).isDirectory()) return findTests(path)
    return name.endsWith('.test.ts') ? [relative(ROOT, path)] : []
  }).sort()
}

// The files are listed here rather than globbed by node --test, so that arguments can filter them by path.
const filters = process.argv.slice(2)
const files = SEARCHED.flatMap((d) => findTests(join(ROOT, d))).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`)
  process.exit(1)
}

const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`
const templateName = `tally_t_${runId}_tpl`
const runName = `tally_t_${runId}`
const prefix = `tally:t:${runId}:`
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
let exitCode = 1
try {
  await migrateDatabase(withDatabase(adminUrl, templateName))
  await admin`create database ${admin(runName)} template ${admin(templateName)}`
  const tests = startProcess(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
    output: 'inherit',
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: withDatabase(adminUrl, runName),
      TALLY_TEST_TEMPLATE_DB: templateName,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
    },
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => tests.child.kill(signal))
  exitCode = (await tests.exited) ?? 1   // null: a signal ended it
} finally {
  // Tests may have cloned more databases from the template; they drop their own, this catches leftovers.
  const leftovers = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`tally_t_${runId}%`}`
  const order = leftovers.map((r) => r.datname).sort((a, b) => Number(a === templateName) - Number(b === templateName))
  for (const name of order) await admin`drop database if exists ${admin(name)} with (force)`
  await admin.end()
  await deleteKeys(redisUrl, prefix)
}
process.exit(exitCode)

async function deleteKeys(url: string, keyPrefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    await deleteKeysWithPrefix(redis, keyPrefix)
  } catch (err) {
    console.error(`could not delete redis keys ${keyPrefix}*: ${(err as Error).message}`)
  } finally {
    redis.disconnect()
  }
}
