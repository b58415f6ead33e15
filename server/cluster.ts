/**
 * API_PROCESSES > 1: the API as a node:cluster (Node 20 has no reusePort). The primary serves no API request: it
 * forks the workers, which each run server/main.ts with their own pools and listen on the one port (the
 * primary hands them the connections), restarts a worker that dies unexpectedly, serves the metrics listener
 * for them all (server/cluster-metrics.ts), and stops them all together on a signal.
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
import { aggregateWorkerMetrics } from './cluster-metrics.js'

const STOP = 'tally:stop'
const MAX_RESTART_DELAY_MS = 10_000
// A worker that lived this long was healthy: its next death restarts it at once, without delay growth.
const STABLE_AFTER_MS = 30_000
// SIGHUP as well: a closed terminal sends it to the primary and its workers alike, as Ctrl-C does SIGINT.
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** The primary: `config.API_PROCESSES` workers, kept running until a signal stops them all. */
export function runPrimary(config: Config): void {
  const log = pino(loggerOptions(config.LOG_LEVEL, 'tally-api'))
  for (const warning of config.warnings) log.warn(warning)
  // Each process would generate its own JWT_SECRET when none is set: the workers take the primary's,
  // so a token signed by one worker is valid on the others.
  const workerEnv = { JWT_SECRET: config.JWT_SECRET }
  const listening = new WeakSet<Worker>()
  const restarts = new Set<NodeJS.Timeout>()
  let stopping = false
  const scrapeWorkers = aggregateWorkerMetrics()
  const metricsServer = config.METRICS_PORT > 0
    ? startMetricsServer({ '/metrics': metricsRoute(scrapeWorkers) }, { host: config.METRICS_HOST, port: config.METRICS_PORT, log })
    : undefined

  function start(slot: { delayMs: number }): void {
    const startedAt = Date.now()
    const worker = cluster.fork(workerEnv)
    worker.once('listening', () => listening.add(worker))
    worker.once('exit', (code, signal) => {
      if (stopping) return
      slot.delayMs = Date.now() - startedAt > STABLE_AFTER_MS ? 0 : Math.min(MAX_RESTART_DELAY_MS, Math.max(500, slot.delayMs * 2))
      log.error({ workerPid: worker.process.pid, code, signal, restartInMs: slot.delayMs }, 'worker exited: restarting it')
      const timer = setTimeout(() => { restarts.delete(timer); start(slot) }, slot.delayMs)
      restarts.add(timer)
    })
  }

  // A worker installs its stop handler before it listens: asked earlier, it would miss the request.
  function askToStop(worker: Worker, signal: string): void {
    const send = () => { if (worker.isConnected()) worker.send({ type: STOP, signal }) }
    if (listening.has(worker)) send()
    else worker.once('listening', send)
  }

  async function stop(signal: string): Promise<void> {
    const running = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead())
    if (stopping) {
      log.warn({ signal }, 'second signal: killing the workers')
      for (const w of running) w.process.kill('SIGKILL')
      process.exit(1)
    }
    stopping = true
    for (const timer of restarts) clearTimeout(timer)
    log.info({ signal, workers: running.length }, 'stopping the workers')
    const exits = running.map((w) => new Promise<boolean>((resolve) => w.once('exit', (code) => resolve(code === 0))))
    for (const w of running) askToStop(w, signal)
    // Each worker exits 1 after its own grace period; this is for one that hangs past it.
    const killer = setTimeout(() => { for (const w of running) w.process.kill('SIGKILL') }, config.SHUTDOWN_GRACE_MS + 2000)
    // Scrapes end first: stopping workers would only make them fail.
    await metricsServer?.close()
    const allClean = (await Promise.all(exits)).every(Boolean)
    clearTimeout(killer)
    log.info({ allClean }, 'workers stopped')
    process.exit(allClean ? 0 : 1)
  }

  for (const signal of STOP_SIGNALS) process.on(signal, () => void stop(signal))
  log.info({ workers: config.API_PROCESSES, port: config.PORT }, 'starting API workers')
  for (let i = 0; i < config.API_PROCESSES; i++) start({ delayMs: 0 })
}

/**
 * In a worker: call `stop` once, on the primary's request or on a stop signal of the worker's own. Both come
 * for one stop when a terminal's Ctrl-C reaches the whole process group; treating the second as "stop now"
 * would drop in-flight requests. Escalation is the primary's: a second signal to it kills the workers.
 */
export function whenAskedToStop(stop: (signal: string) => void): void {
  let isAsked = false
  const once = (signal: string) => {
    if (isAsked) return
    isAsked = true
    stop(signal)
  }
  process.on('message', (message: { type?: string; signal?: string }) => { if (message?.type === STOP) once(message.signal ?? STOP) })
  for (const signal of STOP_SIGNALS) process.on(signal, () => once(signal))
}
