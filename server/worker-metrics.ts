/**
 * The API's metrics when it runs as a node:cluster (API_PROCESSES > 1). The primary serves METRICS_PORT alone
 * (server/api-workers.ts), so the workers never contend for it: for each scrape it asks every worker that serves for
 * its registry over IPC and sums them with prom-client's AggregatorRegistry.aggregate (counters and histograms add
 * up; the few process gauges that should not are averaged or taken from one worker). Only the first worker asked
 * also reads what is the same in every process (the locks now, one ZCOUNT per shard in Redis): a scrape costs
 * Redis the same whatever API_PROCESSES is.
 *
 * The IPC is ours rather than AggregatorRegistry.clusterMetrics(): that asks every connected worker, and a
 * worker still starting (connected, not yet serving) never answers, so each scrape during a start or a
 * restart would wait 5 s and fail. Here only workers that listen are asked.
 */
import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'

const SHARE = 'tally:metrics-share' // primary → worker: this worker's registry, as JSON
const REPLY = 'tally:metrics-reply'
// A worker answers in milliseconds unless its event loop is stuck; then the scrape fails (503) rather than
// reporting totals without it, which would read as a drop.
const SHARE_TIMEOUT_MS = 2000

interface Message { type?: string; id?: number; value?: unknown; error?: string; withClusterWide?: boolean }

/**
 * In the primary: the function that answers a scrape with the sum of every serving worker's registry; it
 * rejects when one of them does not answer, or none serves yet.
 */
export function aggregateWorkerMetrics(): () => Promise<string> {
  let nextId = 0
  const waiting = new Map<number, (reply: Message) => void>()
  const isServing = new WeakSet<Worker>()
  cluster.on('listening', (worker) => isServing.add(worker))
  cluster.on('message', (_from: Worker, reply: Message) => {
    if (reply?.type === REPLY && reply.id !== undefined) waiting.get(reply.id)?.(reply)
  })

  const ask = (worker: Worker, withClusterWide: boolean) => new Promise<unknown>((resolve, reject) => {
    const id = nextId++
    const finish = (reply: Message) => {
      clearTimeout(timer)
      waiting.delete(id)
      if (reply.error === undefined) resolve(reply.value)
      else reject(new Error(`cluster metrics: worker ${worker.process.pid}: ${reply.error}`))
    }
    const timer = setTimeout(() => finish({ error: `no reply within ${SHARE_TIMEOUT_MS} ms` }), SHARE_TIMEOUT_MS)
    waiting.set(id, finish)
    worker.send({ type: SHARE, id, withClusterWide } satisfies Message, (err: Error | null) => { if (err) finish({ error: err.message }) })
  })

  return async () => {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && isServing.has(w) && w.isConnected())
    if (workers.length === 0) throw new Error('cluster metrics: no API worker serves yet')
    const registries = await Promise.all(workers.map((w, i) => ask(w, i === 0)))
    return AggregatorRegistry.aggregate(registries as object[]).metrics()
  }
}

/** In a worker: answer the primary's requests with `own` registry, and `clusterWide` too when asked for it. */
export function shareMetricsWithPrimary(own: Registry, clusterWide: Registry): void {
  process.on('message', async (message: Message) => {
    if (message?.type !== SHARE) return
    const registries = message.withClusterWide ? [own, clusterWide] : [own]
    const reply = await Promise.all(registries.map((r) => r.getMetricsAsJSON()))
      .then((parts) => ({ value: parts.flat() }), (err: Error) => ({ error: err.message }))
    // A primary gone away takes this worker with it: a failed send needs nothing more.
    process.send!({ type: REPLY, id: message.id, ...reply } satisfies Message, undefined, undefined, () => {})
  })
}
