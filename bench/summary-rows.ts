/**
 * A run's results as one row per measured thing, the shape both the report and --compare print:
 * every HTTP scenario, and for drain the in-process ceiling and each consumer count (votes/s, CPU
 * per vote applied). Result files written before CPU was metered simply have no `cpu`.
 */
import type { BenchRun } from './report.js'
import type { CpuFigures, CpuGroup } from './cpu-meter.js'
import type { DrainFigures } from './drain-scenario.js'
import type { LoadResult } from './load.js'
import { ratio, round } from './stats.js'

export interface SummaryRow {
  name: string
  /** Requests per second, or votes applied per second for drain rows. */
  rate: number
  /** To the baseline of the same run; null where it means nothing (drain) or the run had no baseline. */
  ratio: number | null
  load?: LoadResult
  cpu?: CpuFigures
}

/** The bare route measured again after every scenario: the machine may have sped up or slowed down meanwhile. */
export const BASELINE_END = 'baseline (end)'
export const isBaseline = (name: string): boolean => name === 'baseline' || name === BASELINE_END

/**
 * The run's baseline: the mean of the bare route's figures before and after the scenarios (only the first
 * when there is no second: older files, a run of the baseline alone), and how far apart the two are.
 */
export function baselineOf(run: BenchRun): { rps: number; apiUs: number | null; drift: number | null } {
  const found = [run.results.find((r) => r.name === 'baseline'), run.results.find((r) => r.name === BASELINE_END)].filter((r) => r?.load)
  if (found.length === 0) return { rps: 0, apiUs: null, drift: null }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  const rates = found.map((r) => r!.load!.requestsPerSecond)
  const us = found.map((r) => r!.cpu?.groups.api?.usPerUnit).filter((u): u is number => typeof u === 'number')
  return {
    rps: mean(rates),
    apiUs: us.length > 0 ? round(mean(us)) : null,
    drift: rates.length === 2 ? round(Math.abs(rates[1]! - rates[0]!) / Math.min(rates[0]!, rates[1]!)) : null,
  }
}

export function summaryRows(run: BenchRun): SummaryRow[] {
  const base = baselineOf(run).rps
  return run.results.flatMap((r): SummaryRow[] => {
    if (r.load) {
      const rate = r.load.requestsPerSecond
      return [{ name: r.name, rate, ratio: base > 0 ? round(ratio(rate, base)) : null, load: r.load, ...(r.cpu ? { cpu: r.cpu } : {}) }]
    }
    if (r.name !== 'drain') return []
    const d = r.extra as Partial<DrainFigures>
    const ceiling: SummaryRow[] = d.ceilingPerSecond
      ? [{
          name: 'drain ceiling (in-process apply)', rate: d.ceilingPerSecond, ratio: null, ...(d.ceilingCpu ? { cpu: d.ceilingCpu } : {}),
        }]
      : []
    return [...ceiling, ...Object.entries(d.byConsumers ?? {}).map(([n, f]) => ({
      name: `drain, ${n} consumer${n === '1' ? '' : 's'}`, rate: f.perSecond, ratio: null, ...(f.cpu ? { cpu: f.cpu } : {}),
    }))]
  })
}

export const DASH = '–'

/** µs with one decimal below 100 (Redis' few µs), whole above (the API's hundreds). */
export const formatUs = (us: number): string => (us >= 100 ? String(Math.round(us)) : us.toFixed(1))

/** A group's CPU µs per unit, or – when the group was not metered (older file, process not running). */
export function usPerUnit(row: SummaryRow, group: CpuGroup): number | undefined {
  return row.cpu?.groups[group]?.usPerUnit ?? undefined
}

export const usCell = (row: SummaryRow, group: CpuGroup): string => {
  const us = usPerUnit(row, group)
  return us === undefined ? DASH : formatUs(us)
}
