/** Pure arithmetic for the bench: ratios to the baseline and percentiles of sampled series. */

export const ratio = (value: number, baseline: number): number => (baseline > 0 ? value / baseline : 0)

/** The p-th percentile (0..100) of samples, nearest-rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

/** Growth of a series past its warm-up: last-quarter mean over the first-quarter mean after warm-up, minus 1. */
export function growthAfterWarmup(samples: readonly number[], warmupFraction = 0.25): number {
  const rest = samples.slice(Math.floor(samples.length * warmupFraction))
  if (rest.length < 4) return 0
  const q = Math.max(1, Math.floor(rest.length / 4))
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  return mean(rest.slice(-q)) / mean(rest.slice(0, q)) - 1
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits

/** A cumulative histogram as Prometheus exposes it: [upper bound in seconds, observations ≤ it], ascending, +Inf last. */
export type Buckets = [number, number][]

/**
 * The q-th quantile (0..1) of a cumulative histogram, interpolated linearly inside its bucket as
 * Prometheus' histogram_quantile does; NaN without observations. Past the last finite bound it
 * answers that bound (the histogram cannot tell more).
 */
export function histogramQuantile(buckets: Buckets, q: number): number {
  const total = buckets[buckets.length - 1]?.[1] ?? 0
  if (total <= 0) return NaN
  const rank = q * total
  let prevBound = 0
  let prevCount = 0
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return prevBound
      return prevBound + (bound - prevBound) * ((rank - prevCount) / Math.max(1, count - prevCount))
    }
    prevBound = bound
    prevCount = count
  }
  return prevBound
}

/** Bucket by bucket, what `now` counted since `before` (the same bounds, counters that only grow). */
export function bucketDelta(now: Buckets, before: Buckets | undefined): Buckets {
  if (!before) return now
  const earlier = new Map(before)
  return now.map(([bound, count]) => [bound, count - (earlier.get(bound) ?? 0)])
}
