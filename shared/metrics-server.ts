import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BaseLogger } from 'pino'
import { Registry } from 'prom-client'

/** What a path of the metrics listener answers. */
export interface Answer { status: number; contentType: string; body: string }
export type Route = () => Promise<Answer>

export interface MetricsServer {
  /** Where it listens once it does; undefined when it could not (the port taken, the address not this host's). */
  listening: Promise<AddressInfo | undefined>
  /** Stops listening and drops open connections: a scrape cut short is one Prometheus retries at its next interval. */
  close(): Promise<void>
}

/** GET /metrics in Prometheus' text format, from `scrape` (a registry's, or a whole cluster's). */
export const metricsRoute = (scrape: () => Promise<string>): Route => async () =>
  ({ status: 200, contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: await scrape() })

/**
 * The operators' listener of one process, apart from the public port: the API's on METRICS_PORT, a consumer's on
 * CONSUMER_METRICS_PORT, both bound to METRICS_HOST (loopback unless set). A scrape reads Redis and, in an API
 * cluster, asks every worker over IPC: nobody outside should be able to make that happen at will. GET or HEAD on
 * a path of `routes`; another path is 404, another method 405, a route that fails 503 with its reason.
 * A port that cannot be had costs the endpoint, never the process: it is logged and the process goes on.
 */
export function startMetricsServer(
  routes: Record<string, Route>, opts: { host: string; port: number; log: Pick<BaseLogger, 'info' | 'warn'> }
): MetricsServer {
  const paths = new Map(Object.entries(routes))
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    const route = paths.get(req.url?.split('?')[0] ?? '')
    if (!route) {
      res.writeHead(404).end()
      return
    }
    route().then((answer) => res.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body), (err: Error) => {
      opts.log.warn({ err: err.message }, 'metrics scrape failed')
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${err.message}\n`)
    })
  })
  const listening = new Promise<AddressInfo | undefined>((resolve) => {
    server.once('listening', () => {
      const at = server.address() as AddressInfo
      opts.log.info({ address: at.address, port: at.port }, 'metrics endpoint listening')
      resolve(at)
    })
    server.on('error', (err) => {
      opts.log.warn({ err: err.message, host: opts.host, port: opts.port }, 'metrics endpoint not served')
      resolve(undefined)
    })
  })
  server.listen(opts.port, opts.host)
  return {
    listening,
    async close() {
      // Asked while the listen is under way, the close waits for it: the listener must not open after its close.
      if (!(await listening)) return
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Prometheus keeps its connection open between scrapes: left open, it would hold the close until it idled out.
        server.closeAllConnections()
      })
    },
  }
}
