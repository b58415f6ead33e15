/**
 * `npm start`: one command from a fresh clone to a running service. Validates the config, brings up
 * local PostgreSQL/Redis when the default URLs have nobody answering, migrates, then runs the API (itself
 * API_PROCESSES processes, see server/cluster.ts) and CONSUMERS consumer processes, restarts any that crash,
 * and stops them all (then the local servers) on a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { EXIT_CONFIG, loadConfigOrExit, readProcessEnv } from '../shared/config.js'
import { migrateDatabase } from '../shared/db/migrate.js'
import { ensureLocalServices } from './services.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const log = (msg: string) => console.log(`tally: ${msg}`)
const MAX_RESTART_DELAY_MS = 10_000
// A child that lived this long is healthy: its next crash restarts it without delay growth.
const STABLE_AFTER_MS = 30_000

const env = readProcessEnv()
const config = loadConfigOrExit('tally', env, 1)
for (const warning of config.warnings) log(warning)

let services: { stop(): Promise<void> }
try {
  services = await ensureLocalServices({ databaseUrl: config.DATABASE_URL, redisUrl: config.REDIS_URL, dataDir: `${ROOT}.data`, log, searchPath: env.PATH })
  const { created } = await migrateDatabase(config.DATABASE_URL)
  log(created ? 'database created and migrated' : 'database migrated')
} catch (err) {
  console.error(`tally: ${(err as Error).message}`)
  process.exit(1)
}

// Children share this process's JWT secret, so a generated one survives a child's restart.
const childEnv = { ...env, JWT_SECRET: config.JWT_SECRET }
let stopping = false

interface Supervised { name: string; entry: string; env: Record<string, string | undefined>; child?: ChildProcess; delayMs: number }
const metricsPort = (i: number) => String(config.CONSUMER_METRICS_PORT === 0 ? 0 : config.CONSUMER_METRICS_PORT + i)
const processes: Supervised[] = [
  { name: 'api', entry: 'server/main.ts', env: childEnv, delayMs: 0 },
  // One metrics port per consumer (base, base+1, …): they share a host here.
  ...Array.from({ length: config.CONSUMERS }, (_, i) => ({
    name: `consumer-${i + 1}`, entry: 'consumer/main.ts', env: { ...childEnv, CONSUMER_METRICS_PORT: metricsPort(i) }, delayMs: 0,
  })),
]

function launch(p: Supervised): void {
  const startedAt = Date.now()
  // Own process group (detached) and an IPC channel: see shared/supervised.ts.
  const child = spawn(process.execPath, ['--import', 'tsx', p.entry], { cwd: ROOT, env: p.env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'], detached: true })
  p.child = child
  child.on('error', (err) => log(`${p.name} could not be started: ${err.message}`))
  child.on('exit', (code, signal) => {
    if (stopping) return
    if (code === EXIT_CONFIG) {
      log(`${p.name} cannot start (configuration): stopping`)
      void shutdown(1)
      return
    }
    p.delayMs = Date.now() - startedAt > STABLE_AFTER_MS ? 0 : Math.min(MAX_RESTART_DELAY_MS, Math.max(500, p.delayMs * 2))
    log(`${p.name} exited (${signal ?? code}); restarting in ${p.delayMs} ms`)
    setTimeout(() => { if (!stopping) launch(p) }, p.delayMs)
  })
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL')
  } catch {
    child.kill('SIGKILL') // the group is gone already; the child alone may not be
  }
}

async function shutdown(exitCode: number): Promise<void> {
  if (stopping) return
  stopping = true
  log('stopping')
  const running = processes.map((p) => p.child).filter((c): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null)
  const exits = running.map((c) => once(c, 'exit'))
  for (const c of running) c.kill('SIGTERM')
  // Children drain within their own grace period; past it (plus a margin) they are killed, with their
  // process groups: the API's holds its cluster workers when API_PROCESSES > 1.
  const killer = setTimeout(() => { for (const c of running) killGroup(c) }, config.SHUTDOWN_GRACE_MS + 2000)
  await Promise.all(exits)
  clearTimeout(killer)
  try {
    await services.stop()
  } catch (err) {
    console.error(`tally: stopping the local servers failed: ${(err as Error).message}`)
    exitCode = 1
  }
  process.exit(exitCode)
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1) // a second signal: stop waiting
    void shutdown(0)
  })
}
for (const p of processes) launch(p)
log(`api on http://localhost:${config.PORT} (${config.API_PROCESSES} process(es)) with ${config.CONSUMERS} consumer(s); Ctrl-C stops everything`)
