/**
 * `npm start`: one command from a fresh clone to a running service: local PostgreSQL/Redis when the default
 * URLs have nobody answering (data in .data/), then the API and the consumers, supervised (launcher/supervisor.ts).
 */
import { fileURLToPath } from 'node:url'
import { readProcessEnv } from '../shared/config.js'
import { runLauncher } from './supervisor.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
await runLauncher({ root: ROOT, env: readProcessEnv(), dataDir: `${ROOT}.data` })
