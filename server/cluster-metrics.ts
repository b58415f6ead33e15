/**
 * GET /metrics of an API run as a node:cluster (API_PROCESSES > 1). A scrape lands on whichever worker took
 * the connection, so that worker answers for all of them: it asks the primary, the primary asks every worker
 * for its registry over IPC and sums them with prom-client's AggregatorRegistry.aggregate (counters and
 * histograms add up; the few process gauges that should not are averaged or taken from one worker).
 *
 * The IPC is ours rather than AggregatorRegistry.clusterMetrics(): that asks every connected worker, and a
 * worker still starting (connected, not yet serving) never answers, so each scrape during a start or a
 * restart would wait 5 s and fail. Here only workers that listen are asked.
 */
import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'

const ASK = 'tally:metrics-ask' // worker → primary: the whole cluster's metrics
const SHARE = 'tally:metrics-share' // primary → worker: this worker's registry, as JSON
const REPLY = 'tally:metrics-reply'
// A worker answers in milliseconds unless its event loop is stuck; then the scrape fails rather than
// reporting totals without it. The worker waits longer than the primary, so the primary's error arrives.
const SHARE_TIMEOUT_MS = 2000
const ASK_TIMEOUT_MS = 3000

interface Message { type?: string; id?: number; value?: unknown; error?: string }
type Send = (message: Message, done: (err: Error | null) => void) => void

/** Requests over one IPC channel and the replies that settle them, matched by id. */
function requests() {
  let nextId = 0
  const waiting = new Map<number, (reply: Message) => void>()
  return {
    settle(reply: Message) { if (reply?.type === REPLY && reply.id !== undefined) waiting.get(reply.id)?.(reply) },
    ask(send: Send, type: string, timeoutMs: number): Promise<unknown> {
      return new Promise((resolve, reject) => {
        const id = nextId++
        const finish = (reply: Message) => {
          clearTimeout(timer)
          waiting.delete(id)
          if (reply.error === undefined) resolve(reply.value)
          else reject(new Error(`cluster metrics: ${reply.error}`))
        }
        const timer = setTimeout(() => finish({ error: `no reply within ${timeoutMs} ms` }), timeoutMs)
        waiting.set(id, finish)
        send({ type, id }, (err) => { if (err) finish({ error: err.message }) })
      })
    },
  }
}

/** In the primary: answer a worker's ASK with the sum of every serving worker's registry. */
export function aggregateWorkerMetrics(): void {
  const shares = requests()
  const isServing = new WeakSet<Worker>()
  cluster.on('listening', (worker) => isServing.add(worker))
  cluster.on('message', async (from: Worker, message: Message) => {
    if (message?.type !== ASK) return shares.settle(message)
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && isServing.has(w) && w.isConnected())
    const reply: Message = await Promise.all(workers.map((w) => shares.ask((m, done) => w.send(m, done), SHARE, SHARE_TIMEOUT_MS)))
      .then(async (registries) => ({ value: await AggregatorRegistry.aggregate(registries as object[]).metrics() }), (err: Error) => ({ error: err.message }))
    if (from.isConnected()) from.send({ type: REPLY, id: message.id, ...reply })
  })
}

/** In a worker: share `registry` with the primary; returns the function that fetches the cluster's metrics. */
export function shareMetricsWithPrimary(registry: Registry): () => Promise<string> {
  const asks = requests()
  const send: Send = (m, done) => process.send!(m, undefined, undefined, done)
  process.on('message', async (message: Message) => {
    if (message?.type !== SHARE) return asks.settle(message)
    const reply = await registry.getMetricsAsJSON().then((value) => ({ value }), (err: Error) => ({ error: err.message }))
    send({ type: REPLY, id: message.id, ...reply }, () => {}) // a primary gone away takes this worker with it
  })
  return async () => String(await asks.ask(send, ASK, ASK_TIMEOUT_MS))
}
