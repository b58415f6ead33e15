import type { LoadResult } from './load.js'

/** A load run for the bench's report tests: `rps` over 10 s with fixed latencies; a test overrides what it varies. */
export const loadResult = (rps: number, over: Partial<LoadResult> = {}): LoadResult => ({
  requestsPerSecond: rps,
  latencyMs: { p50: 1, p99: 4, p999: 9, mean: 1.2, max: 20 },
  statusCounts: { 202: rps * 10 },
  errors: 0,
  timeouts: 0,
  total: rps * 10,
  durationSeconds: 10,
  ...over,
})
