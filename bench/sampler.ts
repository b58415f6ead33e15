/**
 * Once a second during a scenario, read the processes' /metrics: votes accepted and applied (as rates),
 * stream lag and pending, and each process's resident memory.
 */
export interface Sample { t: number; acceptedPerSecond: number; appliedPerSecond: number; lag: number; pending: number; rssMiB: Record<string, number> }

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
  let last: { accepted: number; applied: number } | undefined
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
      const rssMiB: Record<string, number> = { [api.name]: Math.round((a.get('tally_api_process_resident_memory_bytes') ?? 0) / 2 ** 20) }
      consumers.forEach((c, i) => { rssMiB[c.name] = Math.round((cs[i]!.get('tally_consumer_process_resident_memory_bytes') ?? 0) / 2 ** 20) })
      samples.push({
        t: Math.round((Date.now() - started) / 1000),
        acceptedPerSecond: last ? accepted - last.accepted : 0,
        appliedPerSecond: last ? applied - last.applied : 0,
        lag: sum(group, 'tally_group_lag'),
        pending: sum(group, 'tally_group_pending'),
        rssMiB,
      })
      last = { accepted, applied }
    } finally {
      busy = false
    }
  }, 1000)
  return { stop() { clearInterval(timer); return samples } }
}
