/**
 * `node --import tsx launcher/start-services.ts [data dir]`: npm start's local PostgreSQL and Redis alone, left
 * running for what comes next (CI's tests: .ci/run). Where DATABASE_URL / REDIS_URL (default: the loopback
 * defaults) have nobody answering, each is started as npm start starts its own (launcher/services.ts), its data in
 * the data dir (default .data/); one that answers is used as it is. Exits 0 once both answer, 1 with the reason.
 */
import { fileURLToPath } from 'node:url'
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, readProcessEnv } from '../shared/config.js'
import { ensureLocalServices } from './services.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const env = readProcessEnv()
const databaseUrl = env.DATABASE_URL ?? DEFAULT_DATABASE_URL
const redisUrl = env.REDIS_URL ?? DEFAULT_REDIS_URL
const dataDir = process.argv[2] ?? `${ROOT}.data`
const log = (msg: string) => console.log(`tally: ${msg}`)

try {
  const services = await ensureLocalServices({ databaseUrl, redisUrl, dataDir, log, manage: [databaseUrl, redisUrl], searchPath: env.PATH })
  if (services.started.length === 0) log('PostgreSQL and Redis answer already: used as they are')
} catch (err) {
  console.error(`tally: ${(err as Error).message}`)
  process.exit(1)
}
// Left running on purpose: Redis is a child of ours in a process group of its own, which exiting does not end.
process.exit(0)
