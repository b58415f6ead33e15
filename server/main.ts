import cluster from 'node:cluster'
import closeWithGrace from 'close-with-grace'
import { loadConfigOrExit } from '../shared/config.js'
import { metricsRoute, startMetricsServer } from '../shared/metrics-server.js'
import { buildApp } from './app.js'
import { stopWhenSupervisorExits } from '../shared/supervised.js'
import { TERMINAL_STOP_SIGNALS } from '../shared/stop-signals.js'
import { runPrimary, whenAskedToStop } from './api-workers.js'

// The only place that listens: load config → build → listen; close on signal. With API_PROCESSES > 1 this
// file runs twice over: as the node:cluster primary, which supervises and serves the metrics listener for all
// (server/api-workers.ts), and in each worker, which listens on PORT.
const config = loadConfigOrExit('tally-api')

if (cluster.isPrimary && config.API_PROCESSES > 1) {
  runPrimary(config)
  stopWhenSupervisorExits()
} else {
  const app = await buildApp(config)
  for (const warning of config.warnings) app.log.warn(warning)
  // A lone process serves its own metrics, on a port of their own; a worker's go through the primary.
  const metricsServer = !cluster.isWorker && config.METRICS_PORT > 0
    ? startMetricsServer({ '/metrics': metricsRoute(() => app.metricsRegistry.metrics()) },
      { host: config.METRICS_HOST, port: config.METRICS_PORT, log: app.log })
    : undefined

  const closeApp = async ({ signal, err }: { signal?: string; err?: Error }) => {
    if (err) app.log.error({ err }, 'closing after a fatal error')
    else if (signal) app.log.info({ signal }, 'closing: finishing in-flight requests')
    // New requests are refused, in-flight ones finish, then the onClose hooks end the pools.
    await Promise.all([app.close(), metricsServer?.close()])
  }

  if (cluster.isWorker) {
    // Stop signals are counted by whenAskedToStop, not close-with-grace: a worker may hear one stop twice.
    const { close } = closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS, skip: [...TERMINAL_STOP_SIGNALS] }, closeApp)
    whenAskedToStop((signal) => {
      app.log.info({ signal }, 'closing: finishing in-flight requests')
      close()
    })
  } else {
    closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, closeApp)
    stopWhenSupervisorExits()
  }
  await app.listen({ host: config.HOST, port: config.PORT })
}
