/**
 * API_PROCESSES > 1: the API as a node:cluster (listen's reusePort is newer than some of the Node 22 releases
 * engines allows, and missing on some platforms). The primary serves no API request: it forks the workers,
 * which each run server/main.ts with their own pools and listen on the one port (the primary hands them the
 * connections), restarts a worker that dies unexpectedly (shared/supervisor-core.ts), serves the metrics
 * listener for them all (server/worker-metrics.ts), and stops them all together on a signal.
 *
 * The primary deals out connections in turn (node:cluster's default round-robin; letting the kernel choose
 * leaves most connections on one or two workers). A connection handed to a worker at the instant it dies is
 * lost: its client waits for its own timeout. Graceful stops lose none: a closing worker hands them back.
 */
import cluster, { type Worker } from 'node:cluster'
import { pino } from 'pino'
import type { Config } from '../shared/config.js'
import { loggerOptions } from '../shared/logger.js'
import { metricsRoute, startMetricsServer } from '../shared/metrics-server.js'
import { stopOnSignals, TERMINAL_STOP_SIGNALS } from '../shared/stop-signals.js'
import { superviseChildren } from '../shared/supervisor-core.js'
import { aggregateWorkerMetrics } from './worker-metrics.js'

const STOP = 'tally:stop'

/** The primary: `config.API_PROCESSES` workers, kept running until a signal stops them all. */
export function runPrimary(config: Config): void {
  const log = pino(loggerOptions(config.LOG_LEVEL, 'tally-api'))
  for (const warning of config.warnings) log.warn(warning)
  // Each process would generate its own JWT_SECRET when none is set: the workers take the primary's,
  // so a token signed by one worker is valid on the others.
  const workerEnv = { JWT_SECRET: config.JWT_SECRET }
  const listening = new WeakSet<Worker>()
  const scrapeWorkers = aggregateWorkerMetrics()
  const metricsServer = config.METRICS_PORT > 0
    ? startMetricsServer({ '/metrics': metricsRoute(scrapeWorkers) }, { host: config.METRICS_HOST, port: config.METRICS_PORT, log })
    : undefined

  // A worker installs its stop handler before it listens: asked earlier, it would miss the request.
  function askToStop(worker: Worker, signal: string): void {
    const send = () => { if (worker.isConnected()) worker.send({ type: STOP, signal }) }
    if (listening.has(worker)) send()
    else worker.once('listening', send)
  }

  let isGivenUp = false
  const workers = superviseChildren<Worker>({
    slots: config.API_PROCESSES,
    graceMs: config.SHUTDOWN_GRACE_MS,
    start: () => {
      const worker = cluster.fork(workerEnv)
      worker.once('listening', () => listening.add(worker))
      return worker
    },
    onExit: (worker, listener) => worker.once('exit', (code: number | null, signal: NodeJS.Signals | null) => listener({ code, signal })),
    isRunning: (worker) => !worker.isDead(),
    askToStop,
    kill: (worker) => worker.process.kill('SIGKILL'),
    onRestart: (worker, _slot, { code, signal }, restartInMs) => {
      log.error({ workerPid: worker.process.pid, code, signal, restartInMs }, 'worker exited: restarting it')
    },
    onGiveUp: (worker, _slot, { code }) => {
      log.error({ workerPid: worker.process.pid, code }, 'worker cannot start (configuration): stopping')
      isGivenUp = true
      requests.stop('configuration')
    },
  })

  async function stop(signal: string): Promise<void> {
    log.info({ signal, workers: workers.running().length }, 'stopping the workers')
    const exits = workers.stop(signal)
    // Scrapes end first: stopping workers would only make them fail.
    await metricsServer?.close()
    const allClean = (await exits).every((exit) => exit.code === 0)
    log.info({ allClean }, 'workers stopped')
    process.exit(allClean && !isGivenUp ? 0 : 1)
  }

  // No grace timer of its own: the workers have theirs, and the supervisor core kills one that outlasts it.
  const requests = stopOnSignals({
    signals: TERMINAL_STOP_SIGNALS,
    begin: (signal) => { void stop(signal) },
    onRepeat: (signal) => {
      log.warn({ signal }, 'second signal: killing the workers')
      workers.kill()
    },
  })
  log.info({ workers: config.API_PROCESSES, port: config.PORT }, 'starting API workers')
  workers.start()
}

/**
 * In a worker: call `stop` once, on the primary's request or on a stop signal of the worker's own. Both come
 * for one stop when a terminal's Ctrl-C reaches the whole process group; treating the second as "stop now"
 * would drop in-flight requests. Escalation is the primary's: a second signal to it kills the workers.
 */
export function whenAskedToStop(stop: (signal: string) => void): void {
  const requests = stopOnSignals({ signals: TERMINAL_STOP_SIGNALS, begin: stop, exitOnRepeat: false })
  process.on('message', (message: { type?: string; signal?: string }) => {
    if (message?.type === STOP) requests.stop(message.signal ?? STOP)
  })
}
