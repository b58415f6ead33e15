/**
 * `--compare FILE`: this run's figures beside an earlier result JSON's, per scenario present in
 * both: req/s, ratio to baseline, p99 and CPU µs per request of each process, with the change.
 * CPU per request is the figure to trust on a shared box (STYLE §16); req/s is given for context.
 */
import { readFileSync } from 'node:fs'
import type { BenchRun } from './report.js'
import { CPU_GROUPS } from './cpu-meter.js'
import { DASH, formatUs, summaryRows, usPerUnit, type SummaryRow } from './summary-rows.js'

/** An earlier run's JSON, refused at once (before any load runs) when it is not one. */
export function loadRun(path: string): BenchRun {
  const run = JSON.parse(readFileSync(path, 'utf8')) as BenchRun
  if (!run || typeof run.date !== 'string' || !Array.isArray(run.results)) {
    throw new Error(`${path} is not a bench result JSON (no date or results)`)
  }
  return run
}

const change = (before: number, now: number): string => {
  if (before === 0) return ''
  const pct = Math.round(((now - before) / before) * 100)
  return ` (${pct > 0 ? '+' : pct < 0 ? '−' : '±'}${Math.abs(pct)}%)`
}

/** "before → now (±x%)"; a side that lacks the figure shows –, and the change is left out. */
export function beside(before: number | null | undefined, now: number | null | undefined, format: (x: number) => string = String): string {
  const b = before ?? undefined
  const n = now ?? undefined
  if (b === undefined && n === undefined) return DASH
  const text = `${b === undefined ? DASH : format(b)} → ${n === undefined ? DASH : format(n)}`
  return b !== undefined && n !== undefined ? text + change(b, n) : text
}

export function compareRuns(earlier: BenchRun, now: BenchRun, label: string): string {
  const before = new Map(summaryRows(earlier).map((r) => [r.name, r]))
  const pairs = summaryRows(now).flatMap((r): [SummaryRow, SummaryRow][] => (before.has(r.name) ? [[before.get(r.name)!, r]] : []))
  const lines = pairs.map(([b, n]) => {
    const cells = [
      n.name, beside(b.rate, n.rate), beside(b.ratio, n.ratio), beside(b.load?.latencyMs.p99, n.load?.latencyMs.p99),
      ...CPU_GROUPS.map((g) => beside(usPerUnit(b, g), usPerUnit(n, g), formatUs)),
    ]
    return `| ${cells.join(' | ')} |`
  })
  return [
    `### Compared with ${label} (${earlier.date})`,
    '',
    `Earlier command: \`${earlier.command}\``,
    '',
    ...(lines.length === 0
      ? ['No scenario is in both runs.']
      : [
          '| scenario | req/s | × baseline | p99 ms | api µs/req | consumers µs/req | redis µs/req | postgres µs/req | loadgen µs/req |',
          '|---|---|---|---|---|---|---|---|---|',
          ...lines,
        ]),
    '',
  ].join('\n')
}
