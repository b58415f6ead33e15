import { bucketDelta, histogramQuantile, type Buckets } from './stats.js'

/**
 * Once a second during a scenario, read the processes' /metrics (each on its metrics port, the API's apart from
 * the port under load, so the sampler's scrapes are no request it counts): requests answered and votes accepted
 * and applied (as rates), the API's own latency over that second (p50/p99 from its histogram), stream
 * lag and pending, and each process's resident memory.
 */
export interface Sample {
  t: number
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  acceptedPerSecond: number
  appliedPerSecond: number
  lag: number
  pending: number
  rssMiB: Record<string, number>
}

const LATENCY = 'tally_http_request_duration_seconds_bucket{'

/** The API's request latency histogram, summed over routes and statuses into one. */
export function latencyBuckets(metrics: Map<string, number>): Buckets {
  const byBound = new Map<number, number>()
  for (const [series, count] of metrics) {
    if (!series.startsWith(LATENCY)) continue
    const le = /le="([^"]+)"/.exec(series)?.[1]
    if (le === undefined) continue
    const bound = le === '+Inf' ? Infinity : Number(le)
    byBound.set(bound, (byBound.get(bound) ?? 0) + count)
  }
  return [...byBound].sort((a, b) => a[0] - b[0])
}

/** Prometheus text → series name with labels → value (comments and malformed lines skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const space = line.lastIndexOf(' ')
    const value = Number(line.slice(space + 1))
    if (space > 0 && Number.isFinite(value)) out.set(line.slice(0, space), value)
  }
  return out
}

const sum = (m: Map<string, number>, prefix: string) => {
  let total = 0
  for (const [k, v] of m) if (k === prefix || k.startsWith(`${prefix}{`)) total += v
  return total
}

export interface Target { name: string; url: string }

export function startSampler(api: Target, consumers: Target[]): { stop(): Sample[] } {
  const samples: Sample[] = []
  const started = Date.now()
  let last: { accepted: number; applied: number; latency: Buckets } | undefined
  let busy = false
  const read = (url: string) => fetch(url).then((r) => r.text()).then(parseMetrics, () => new Map<string, number>())
  const timer = setInterval(async () => {
    if (busy) return
    busy = true
    try {
      const [a, ...cs] = await Promise.all([read(api.url), ...consumers.map((c) => read(c.url))])
      const accepted = a.get('tally_votes_total{outcome="accepted"}') ?? 0
      const applied = cs.reduce((n, m) => n + sum(m, 'tally_votes_applied_total') + sum(m, 'tally_votes_stale_total'), 0)
      // Every consumer reports the same group-wide gauges: take one, never the sum.
      const group = cs[0] ?? new Map<string, number>()
      const latency = latencyBuckets(a)
      const second = bucketDelta(latency, last?.latency)
      const ms = (q: number) => Math.round(histogramQuantile(second, q) * 1e4) / 10
      // Node's standard process metric, one series per process (labelled service="api" or "consumer").
      const rssMiB: Record<string, number> = { [api.name]: Math.round(sum(a, 'process_resident_memory_bytes') / 2 ** 20) }
      consumers.forEach((c, i) => { rssMiB[c.name] = Math.round(sum(cs[i]!, 'process_resident_memory_bytes') / 2 ** 20) })
      samples.push({
        t: Math.round((Date.now() - started) / 1000),
        requestsPerSecond: last ? second[second.length - 1]?.[1] ?? 0 : 0,
        p50Ms: last ? ms(0.5) : NaN,
        p99Ms: last ? ms(0.99) : NaN,
        acceptedPerSecond: last ? accepted - last.accepted : 0,
        appliedPerSecond: last ? applied - last.applied : 0,
        lag: sum(group, 'tally_group_lag'),
        pending: sum(group, 'tally_group_pending'),
        rssMiB,
      })
      last = { accepted, applied, latency }
    } finally {
      busy = false
    }
  }, 1000)
  return { stop() { clearInterval(timer); return samples } }
}
