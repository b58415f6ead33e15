// The baseline: a bare Fastify route returning a constant JSON object, in its own process like the API,
// so every figure can be given as a ratio to what this machine does with no work at all.
import Fastify from 'fastify'
import { stopOnSignals } from '../shared/stop-signals.js'

const port = Number(process.argv[2] ?? 8090)
const app = Fastify({ logger: false })
app.get('/', async () => ({ hello: 'world' }))
await app.listen({ host: '127.0.0.1', port })
process.send?.('ready')
// bench/processes.ts stops it with one SIGTERM (a SIGKILL 15 s later): no grace timer of its own.
stopOnSignals({ signals: ['SIGTERM'], begin: () => { void app.close().then(() => process.exit(0)) } })
