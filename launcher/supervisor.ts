/**
 * What `npm start` runs (launcher/start.ts is the entry): validates the config, brings up local PostgreSQL/Redis
 * when the URLs have nobody answering, migrates, then runs the API (itself API_PROCESSES processes, see
 * server/cluster.ts) and CONSUMERS consumer processes, restarts any that crash, and stops them all on a signal.
 *
 * The local servers it started are stopped before it exits, whatever the signals: a first one stops the
 * children gracefully, a second one (a second Ctrl-C, or `timeout` signalling the process group again) kills
 * them at once instead of waiting, and neither skips the servers. Left running, they would keep holding
 * 5432/6379, and the next npm start would take them for someone else's and never stop them.
 */
import { hostname } from 'node:os'
import { spawn, type ChildProcess } from 'node:child_process'
import { EXIT_CONFIG, loadConfigOrExit } from '../shared/config.js'
import { migrateDatabase } from '../shared/db/migrate.js'
import { ensureLocalServices, type LocalServices } from './services.js'

export interface LauncherOptions {
  /** The repository: children run <root>server/main.ts and <root>consumer/main.ts. */
  root: string
  env: Record<string, string | undefined>
  /** The local servers keep their data here (npm start: <root>.data). */
  dataDir: string
  /** URLs besides the two defaults where a silent server may be started: tests use free ports. */
  manage?: string[]
}

const log = (msg: string) => console.log(`tally: ${msg}`)
const MAX_RESTART_DELAY_MS = 10_000
// A child that lived this long is healthy: its next crash restarts it without delay growth.
const STABLE_AFTER_MS = 30_000

interface Supervised { name: string; entry: string; env: Record<string, string | undefined>; child?: ChildProcess; delayMs: number; restarts: number }

const isRunning = (c: ChildProcess | undefined): c is ChildProcess => !!c?.pid && c.exitCode === null && c.signalCode === null

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL')
  } catch {
    child.kill('SIGKILL') // the group is gone already; the child alone may not be
  }
}

export async function runLauncher({ root, env, dataDir, manage }: LauncherOptions): Promise<void> {
  const config = loadConfigOrExit('tally', env, 1)
  for (const warning of config.warnings) log(warning)

  let phase: 'starting' | 'running' | 'stopping' = 'starting'
  let stopRequests = 0
  let exitCode = 0
  let services: LocalServices = { started: [], stop: async () => {} }
  const processes: Supervised[] = []
  const liveChildren = () => processes.map((p) => p.child).filter(isRunning)

  // Every exit goes through here once the signal handlers are in: nothing started is left running.
  const stopServersAndExit = async (): Promise<never> => {
    try {
      await services.stop()
    } catch (err) {
      console.error(`tally: stopping the local servers failed: ${(err as Error).message}`)
      exitCode = 1
    }
    process.exit(exitCode)
  }

  const shutdown = async () => {
    phase = 'stopping'
    log('stopping (a second Ctrl-C stops the api and consumers at once)')
    const running = liveChildren()
    const exits = running.map((c) => new Promise((resolve) => c.once('exit', resolve)))
    for (const c of running) c.kill('SIGTERM')
    // Children drain within their own grace period; past it (plus a margin) they are killed, with their
    // process groups: the API's holds its cluster workers when API_PROCESSES > 1.
    const killer = setTimeout(() => { for (const c of liveChildren()) killGroup(c) }, config.SHUTDOWN_GRACE_MS + 2000)
    await Promise.all(exits)
    clearTimeout(killer)
    await stopServersAndExit()
  }

  /** A signal, or the launcher's own decision to stop: the first stops gracefully, the second cuts it short. */
  const requestStop = (code: number) => {
    stopRequests += 1
    const serversToo = services.started.length > 0 ? `; ${services.started.join(' and ')} will still be stopped before exiting` : ''
    if (stopRequests === 1) {
      exitCode = code
      if (phase === 'running') void shutdown()
      else log('stopping once the start-up step in hand is done')   // bring-up commands are never cut off halfway
      return
    }
    exitCode = 1
    const running = liveChildren()
    if (stopRequests === 2 && running.length > 0) {
      log(`second signal: killing the api and consumers now${serversToo}`)
      for (const c of running) killGroup(c)
    } else {
      log(`already stopping${serversToo}`)
    }
  }
  // In before the bring-up: a Ctrl-C while PostgreSQL starts must not leave it running without us.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => requestStop(0))

  try {
    services = await ensureLocalServices({ databaseUrl: config.DATABASE_URL, redisUrl: config.REDIS_CLUSTER_NODES ? undefined : config.REDIS_URL, dataDir, log, manage, searchPath: env.PATH })
    if (stopRequests === 0) {
      const { created } = await migrateDatabase(config.DATABASE_URL)
      log(created ? 'database created and migrated' : 'database migrated')
    }
  } catch (err) {
    console.error(`tally: ${(err as Error).message}`)
    exitCode = 1
    await stopServersAndExit()
  }
  if (stopRequests > 0) await stopServersAndExit()

  // Children share this process's JWT secret, so a generated one survives a child's restart.
  const childEnv = { ...env, JWT_SECRET: config.JWT_SECRET }
  const metricsPort = (i: number) => String(config.CONSUMER_METRICS_PORT === 0 ? 0 : config.CONSUMER_METRICS_PORT + i)
  const consumerPorts = config.CONSUMER_METRICS_PORT === 0 ? [] : Array.from({ length: config.CONSUMERS }, (_, i) => config.CONSUMER_METRICS_PORT + i)
  if (config.METRICS_PORT > 0 && consumerPorts.includes(config.METRICS_PORT)) {
    log(`METRICS_PORT ${config.METRICS_PORT} is also a consumer's metrics port (${consumerPorts.join(', ')}): whichever starts second serves no metrics`)
  }
  // A name per consumer slot that survives its restarts: a restarted consumer takes back at once the entries
  // its predecessor left pending (consumer/stream.ts claimOwn) instead of the others waiting out the claim idle time.
  const consumerName = (i: number) => `${config.CONSUMER_NAME ?? hostname().replace(/[^A-Za-z0-9:_.-]/g, '-')}-consumer-${i + 1}`
  processes.push(
    { name: 'api', entry: 'server/main.ts', env: childEnv, delayMs: 0, restarts: 0 },
    // One metrics port per consumer (base, base+1, …): they share a host here. The API keeps METRICS_PORT
    // (its node:cluster primary serves it for every worker).
    ...Array.from({ length: config.CONSUMERS }, (_, i) => ({
      name: `consumer-${i + 1}`, entry: 'consumer/main.ts', delayMs: 0, restarts: 0,
      env: { ...childEnv, CONSUMER_METRICS_PORT: metricsPort(i), CONSUMER_NAME: consumerName(i) },
    }))
  )

  const launch = (p: Supervised): void => {
    const startedAt = Date.now()
    // Own process group (detached) and an IPC channel: see shared/supervised.ts.
    const child = spawn(process.execPath, ['--import', 'tsx', p.entry], { cwd: root, env: { ...p.env, SUPERVISOR_RESTARTS: String(p.restarts) }, stdio: ['inherit', 'inherit', 'inherit', 'ipc'], detached: true })
    p.child = child
    child.on('error', (err) => log(`${p.name} could not be started: ${err.message}`))
    child.on('exit', (code, signal) => {
      if (phase === 'stopping') return
      if (code === EXIT_CONFIG) {
        log(`${p.name} cannot start (configuration): stopping`)
        requestStop(1)
        return
      }
      p.delayMs = Date.now() - startedAt > STABLE_AFTER_MS ? 0 : Math.min(MAX_RESTART_DELAY_MS, Math.max(500, p.delayMs * 2))
      log(`${p.name} exited (${signal ?? code}); restarting in ${p.delayMs} ms`)
      p.restarts++
      setTimeout(() => { if (phase === 'running') launch(p) }, p.delayMs)
    })
  }
  phase = 'running'
  for (const p of processes) launch(p)
  log(`api on http://localhost:${config.PORT} (${config.API_PROCESSES} process(es)) with ${config.CONSUMERS} consumer(s); Ctrl-C stops everything`)
  const metricsUrls = [
    ...(config.METRICS_PORT > 0 ? [`api ${metricsUrl(config.METRICS_HOST, config.METRICS_PORT)}`] : []),
    ...consumerPorts.map((port, i) => `consumer-${i + 1} ${metricsUrl(config.METRICS_HOST, port)}`),
  ]
  if (metricsUrls.length > 0) log(`metrics: ${metricsUrls.join(', ')}`)
}

/** Where to scrape a listener bound to `host`: a wildcard address is reached on this machine's loopback. */
function metricsUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host
  return `http://${reachable}:${port}/metrics`
}
