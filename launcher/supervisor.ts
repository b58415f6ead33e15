/**
 * What `npm start` runs (launcher/start.ts is the entry): validates the config, brings up local PostgreSQL/Redis
 * when the URLs have nobody answering, migrates, then runs the API (itself API_PROCESSES processes, see
 * server/api-workers.ts) and CONSUMERS consumer processes, restarts any that crash, and stops them all on a
 * signal. When to restart and how to stop the children is shared/supervisor-core.ts's, as for the API's workers.
 *
 * The local servers it started are stopped before it exits, whatever the signals: a first one stops the
 * children gracefully, a second one (a second Ctrl-C, or `timeout` signalling the process group again) kills
 * them at once instead of waiting, and neither skips the servers. Left running, they would keep holding
 * 5432/6379, and the next npm start would take them for someone else's and never stop them.
 */
import { hostname } from 'node:os'
import { spawn, type ChildProcess } from 'node:child_process'
import { type Config, loadConfigOrExit } from '../shared/config.js'
import { migrateDatabase } from '../shared/db/migrate.js'
import { STOP_SIGNALS, stopOnSignals } from '../shared/stop-signals.js'
import { superviseChildren } from '../shared/supervisor-core.js'
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

/** A child the launcher keeps running: the API, or one consumer. */
interface Supervised { name: string; entry: string; env: Record<string, string | undefined> }

const isRunning = (c: ChildProcess): boolean => !!c.pid && c.exitCode === null && c.signalCode === null

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
  let isStopRequested = false
  let exitCode = 0
  let services: LocalServices = { started: [], stop: async () => {} }
  const processes = childrenToRun(config, env)
  const children = superviseChildren<ChildProcess>({
    slots: processes.length,
    graceMs: config.SHUTDOWN_GRACE_MS,
    start: (slot, restarts) => {
      const p = processes[slot]!
      const childEnv = { ...p.env, SUPERVISOR_RESTARTS: String(restarts) }
      // Own process group (detached) and an IPC channel: see shared/supervised.ts.
      const child = spawn(process.execPath, ['--import', 'tsx', p.entry],
        { cwd: root, env: childEnv, stdio: ['inherit', 'inherit', 'inherit', 'ipc'], detached: true })
      child.on('error', (err) => log(`${p.name} could not be started: ${err.message}`))
      return child
    },
    onExit: (child, listener) => child.on('exit', (code, signal) => listener({ code, signal })),
    isRunning,
    askToStop: (child) => child.kill('SIGTERM'),
    // With the child's process group: the API's holds its cluster workers when API_PROCESSES > 1.
    kill: killGroup,
    onRestart: (_child, slot, { code, signal }, ms) => log(`${processes[slot]!.name} exited (${signal ?? code}); restarting in ${ms} ms`),
    onGiveUp: (_child, slot) => {
      log(`${processes[slot]!.name} cannot start (configuration): stopping`)
      exitCode = 1
      stopRequests.stop('configuration')
    },
  })

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

  // Children drain within their own grace period; past it (plus a margin) the supervisor core kills them.
  const shutdown = async (reason: string) => {
    phase = 'stopping'
    log('stopping (a second Ctrl-C stops the api and consumers at once)')
    await children.stop(reason)
    await stopServersAndExit()
  }

  // A signal, or the launcher's own decision to stop: the first stops gracefully, the second cuts it short,
  // and neither exits before the local servers are stopped (see the header).
  // In before the bring-up: a Ctrl-C while PostgreSQL starts must not leave it running without us.
  const stopRequests = stopOnSignals({
    signals: STOP_SIGNALS,
    begin: (reason) => {
      isStopRequested = true
      if (phase === 'running') void shutdown(reason)
      else log('stopping once the start-up step in hand is done')   // bring-up commands are never cut off halfway
    },
    exitOnRepeat: false,
    onRepeat: (_reason, count) => {
      exitCode = 1
      const serversToo = services.started.length > 0 ? `; ${services.started.join(' and ')} will still be stopped before exiting` : ''
      if (count === 2 && children.running().length > 0) {
        log(`second signal: killing the api and consumers now${serversToo}`)
        children.kill()
      } else {
        log(`already stopping${serversToo}`)
      }
    },
  })

  try {
    const redisUrl = config.REDIS_CLUSTER_NODES ? undefined : config.REDIS_URL
    services = await ensureLocalServices({ databaseUrl: config.DATABASE_URL, redisUrl, dataDir, log, manage, searchPath: env.PATH })
    if (!isStopRequested) {
      const { created } = await migrateDatabase(config.DATABASE_URL)
      log(created ? 'database created and migrated' : 'database migrated')
    }
  } catch (err) {
    console.error(`tally: ${(err as Error).message}`)
    exitCode = 1
    await stopServersAndExit()
  }
  if (isStopRequested) await stopServersAndExit()

  const consumerPorts = config.CONSUMER_METRICS_PORT === 0
    ? []
    : Array.from({ length: config.CONSUMERS }, (_, i) => config.CONSUMER_METRICS_PORT + i)
  if (config.METRICS_PORT > 0 && consumerPorts.includes(config.METRICS_PORT)) {
    log(`METRICS_PORT ${config.METRICS_PORT} is also a consumer's metrics port (${consumerPorts.join(', ')}): ` +
      'whichever starts second serves no metrics')
  }
  phase = 'running'
  children.start()
  log(`api on http://localhost:${config.PORT} (${config.API_PROCESSES} process(es)) with ${config.CONSUMERS} consumer(s); ` +
    'Ctrl-C stops everything')
  const metricsUrls = [
    ...(config.METRICS_PORT > 0 ? [`api ${metricsUrl(config.METRICS_HOST, config.METRICS_PORT)}`] : []),
    ...consumerPorts.map((port, i) => `consumer-${i + 1} ${metricsUrl(config.METRICS_HOST, port)}`),
  ]
  if (metricsUrls.length > 0) log(`metrics: ${metricsUrls.join(', ')}`)
}

/** The API and CONSUMERS consumers, each with the environment it starts with. */
function childrenToRun(config: Config, env: Record<string, string | undefined>): Supervised[] {
  // Children share this process's JWT secret, so a generated one survives a child's restart.
  const childEnv = { ...env, JWT_SECRET: config.JWT_SECRET }
  const metricsPort = (i: number) => String(config.CONSUMER_METRICS_PORT === 0 ? 0 : config.CONSUMER_METRICS_PORT + i)
  // A name per consumer slot that survives its restarts: a restarted consumer takes back at once the entries
  // its predecessor left pending (consumer/stream.ts claimOwn) instead of the others waiting out the claim idle time.
  const consumerName = (i: number) => `${config.CONSUMER_NAME ?? hostname().replace(/[^A-Za-z0-9:_.-]/g, '-')}-consumer-${i + 1}`
  return [
    { name: 'api', entry: 'server/main.ts', env: childEnv },
    // One metrics port per consumer (base, base+1, …): they share a host here. The API keeps METRICS_PORT
    // (its node:cluster primary serves it for every worker).
    ...Array.from({ length: config.CONSUMERS }, (_, i) => ({
      name: `consumer-${i + 1}`, entry: 'consumer/main.ts',
      env: { ...childEnv, CONSUMER_METRICS_PORT: metricsPort(i), CONSUMER_NAME: consumerName(i) },
    })),
  ]
}

/** Where to scrape a listener bound to `host`: a wildcard address is reached on this machine's loopback. */
function metricsUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host
  return `http://${reachable}:${port}/metrics`
}
