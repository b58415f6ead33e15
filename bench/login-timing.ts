/**
 * `npx tsx bench/login-timing.ts [--runs 41]`: how long a wrong password takes to be refused, for each kind of
 * account a username can name (issue 18, item 4). Builds the API in-process (app.inject: no network, no rate limit
 * in the way) on a database of its own, stores one user per kind, and tries a wrong password for every kind in
 * turn, round after round, so load on the machine falls on every kind alike. Prints, per kind, the wall time's median
 * and 10th and 90th percentiles, and the median CPU time of this process (every thread: the password work runs on
 * libuv's pool), in milliseconds. On a shared machine wall time swings with the load; CPU time shows the work.
 * Self-contained (builds every hash here), so it runs against older trees too: the before and after of a change.
 * Drops its database and Redis keys when done.
 */
import { pbkdf2Sync, randomBytes, createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { hash } from '@node-rs/argon2'
import { Redis } from 'ioredis'
import { loadConfig } from '../shared/config.js'
import { migrateDatabase } from '../shared/db/migrate.js'
import { deleteKeysWithPrefix } from '../shared/redis/delete-prefix.js'
import { buildApp } from '../server/app.js'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '41' } } })
const runs = Number(values.runs)
const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const id = randomBytes(4).toString('hex')
const dbName = `tally_login_timing_${id}`
const dbUrl = new URL(adminUrl)
dbUrl.pathname = `/${dbName}`
const prefix = `tally:login-timing:${id}:`

const PASSWORD = 'the right password'
const pbkdf2 = (digest: 'sha256' | 'sha1', iterations: number) => {
  const salt = randomBytes(9).toString('hex')
  const bytes = digest === 'sha256' ? 32 : 20
  return `pbkdf2_${digest}$${iterations}$${salt}$${pbkdf2Sync(PASSWORD, salt, iterations, bytes, digest).toString('base64')}`
}
const md5 = (salt: string) => createHash('md5').update(salt + PASSWORD).digest('hex')
// The import's wrapping (shared/django/hashes.ts wrapCheapHash), rebuilt here so this file needs nothing new.
const wrappedMd5 = async (salt: string) =>
  `argon2id_wrapped_md5$${salt}$${(await hash(md5(salt), { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 })).slice(1)}`

const kinds: Record<string, () => Promise<string | null>> = {
  'unknown username': async () => null,
  'tally argon2id': async () => hash(PASSWORD, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 }),
  'tally argon2id, inactive': async () => hash(PASSWORD, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 }),
  'django pbkdf2_sha256 600k': async () => pbkdf2('sha256', 600_000),
  'django pbkdf2_sha256 260k': async () => pbkdf2('sha256', 260_000),
  'django pbkdf2_sha1 20k': async () => pbkdf2('sha1', 20_000),
  'django argon2id 100 MiB t=2 p=8': async () =>
    `argon2${await hash(PASSWORD, { algorithm: 2, memoryCost: 102_400, timeCost: 2, parallelism: 8 })}`,
  'md5 wrapped in argon2id': async () => wrappedMd5('salt1'),
  'md5 (not wrapped)': async () => `md5$salt1$${md5('salt1')}`,
  'unsalted md5 (not wrapped)': async () => md5(''),
  'unusable (!)': async () => '!unusable0123456789',
}

await migrateDatabase(dbUrl.toString())
const app = await buildApp(loadConfig({
  ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: dbUrl.toString(), REDIS_URL: redisUrl, REDIS_PREFIX: prefix,
  JWT_SECRET: randomBytes(32).toString('hex'), RATE_LIMIT_PER_MINUTE: '100000000', RATE_LIMIT_AUTH_PER_MINUTE: '100000000',
  LOGIN_FAILURES_PER_ACCOUNT: '100000000', // the per-account limit (where there is one) would stop the rounds
}))
const sql = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} })
try {
  await app.ready()
  const names: Record<string, string> = {}
  for (const [kind, make] of Object.entries(kinds)) {
    const username = `timing_${Object.keys(names).length}_${id}`
    names[kind] = username
    const stored = await make()
    if (stored !== null) {
      await sql`insert into users (username, username_key, password_hash, is_active)
        values (${username}, ${username}, ${stored}, ${!kind.includes('inactive')})`
    }
  }
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]))
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]))
  const logIn = (username: string) => app.inject({ method: 'POST', url: '/api/auth/', payload: { username, password: 'a wrong password' } })
  for (let round = -2; round < runs; round++) { // two warm-up rounds: the first logins also learn what is stored
    for (const kind of Object.keys(kinds)) {
      const started = performance.now()
      const cpuBefore = process.cpuUsage()
      const res = await logIn(names[kind]!)
      const ms = performance.now() - started
      const cpuUsed = process.cpuUsage(cpuBefore)
      if (res.statusCode !== 401) throw new Error(`${kind}: expected 401, got ${res.statusCode} ${res.body}`)
      if (round >= 0) {
        times[kind]!.push(ms)
        cpu[kind]!.push((cpuUsed.user + cpuUsed.system) / 1000)
      }
    }
  }
  const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  console.log(`wrong-password login, ${runs} runs per kind, ms: wall median [p10 .. p90], CPU median`)
  for (const [kind, list] of Object.entries(times)) {
    const sorted = [...list].sort((a, b) => a - b)
    const cpuSorted = [...cpu[kind]!].sort((a, b) => a - b)
    console.log(`${kind.padEnd(34)} ${at(sorted, 0.5).toFixed(1).padStart(7)}  ` +
      `[${at(sorted, 0.1).toFixed(1)} .. ${at(sorted, 0.9).toFixed(1)}]  cpu ${at(cpuSorted, 0.5).toFixed(1)}`)
  }
} finally {
  await app.close()
  await sql.end()
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  await admin`drop database if exists ${admin(dbName)} with (force)`
  await admin.end()
  const redis = new Redis(redisUrl)
  await deleteKeysWithPrefix(redis as never, prefix)
  redis.disconnect()
}
