import autocannon from 'autocannon'
import { round } from './stats.js'

export interface LoadResult {
  requestsPerSecond: number
  latencyMs: { p50: number; p99: number; p999: number; mean: number; max: number }
  statusCounts: Record<string, number>
  errors: number
  timeouts: number
  total: number
  durationSeconds: number
}

export interface Request { path: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }

export interface LoadOptions {
  url: string
  connections: number
  pipelining: number
  durationSeconds: number
  method?: 'GET' | 'POST'
  /** Called for every request: vary bodies and tokens so no cache or single key flatters the figure. */
  next?: () => Request
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    pipelining: opts.pipelining,
    duration: opts.durationSeconds,
    method: opts.method ?? 'GET',
    requests: opts.next
      ? [{
          setupRequest: (req) => {
            const n = opts.next!()
            // Fresh headers: spreading req.headers would carry a content-length over from the previous body.
            return { ...req, method: n.method ?? opts.method ?? 'GET', path: n.path, headers: n.headers ?? {}, body: n.body }
          },
        }]
      : undefined,
  })
  // A progress line while the load runs: the only output for many seconds otherwise. Redrawn in place
  // on a terminal; a log file gets no carriage-return litter.
  const started = Date.now()
  const live = process.stderr.isTTY === true
  const progress = setInterval(() => {
    if (live) process.stderr.write(`\r  ${Math.round((Date.now() - started) / 1000)}/${opts.durationSeconds} s `)
  }, 1000)
  let result
  try {
    result = await instance
  } finally {
    clearInterval(progress)
    if (live) process.stderr.write('\r\x1b[K')
  }
  const statusCounts: Record<string, number> = {}
  const codes = (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {}
  for (const [code, stat] of Object.entries(codes)) {
    statusCounts[code] = stat.count
  }
  const lat = result.latency as unknown as Record<string, number>
  return {
    requestsPerSecond: round(result.requests.average, 0),
    latencyMs: { p50: lat.p50!, p99: lat.p99!, p999: lat.p99_9 ?? lat.p999 ?? NaN, mean: round(lat.average!, 3), max: lat.max! },
    statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    total: result.requests.total,
    durationSeconds: result.duration,
  }
}
