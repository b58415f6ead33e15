// The launcher exactly as `npm start` runs it (launcher/start.ts), except where its local servers go: on the
// test's own DATABASE_URL and REDIS_URL (free loopback ports, which it may start servers on) with their data
// in the directory given as the argument. Never the machine's 5432/6379 or the repository's .data/.
import { fileURLToPath } from 'node:url'
import { runLauncher } from '../launcher/supervisor.js'

const [dataDir] = process.argv.slice(2)
const { DATABASE_URL, REDIS_URL } = process.env
if (!dataDir || !DATABASE_URL || !REDIS_URL) throw new Error('usage: DATABASE_URL=… REDIS_URL=… launcher-entry.ts <data dir>')
await runLauncher({ root: fileURLToPath(new URL('..', import.meta.url)), env: process.env, dataDir, manage: [DATABASE_URL, REDIS_URL] })
