/**
 * What the HTML report draws, as plain data (pure: a run in, chart specs out). The page's script
 * (report-page.js) only turns each spec into an Observable Plot figure, so what a chart shows, its
 * title, axis labels and units are decided and tested here.
 */
import type { BenchRun } from './report.js'
import type { ScenarioResult } from './scenarios.js'
import type { Sample } from './sampler.js'
import type { DrainFigures } from './drain-scenario.js'
import { CPU_GROUPS, type CpuFigures, type CpuGroup } from './cpu-meter.js'
import { formatUs, isBaseline, summaryRows } from './summary-rows.js'

export interface Point { x: number; y: number; series: string }
export interface Bar { label: string; value: number; group: string; text: string }
interface Chart { title: string; subtitle: string; xLabel: string; domain: string[]; colors: string[] }
export interface LineChart extends Chart { kind: 'lines'; yLabel: string; points: Point[] }
/** Horizontal bars, one row per label; several bars of one label are stacked (by group). */
export interface BarChart extends Chart { kind: 'bars'; bars: Bar[] }
export type ChartSpec = LineChart | BarChart

const PALETTE = ['#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7', '#a463f2', '#97bbf5']
/** Each CPU group keeps its colour in every chart, so "postgres" reads the same in the summary and the drain. */
const GROUP_COLORS: Record<CpuGroup, string> = {
  api: '#4269d0', consumers: '#3ca951', redis: '#ff725c', postgres: '#a463f2', loadgen: '#9c9c9c',
}
const GROUP_NAMES: Record<CpuGroup, string> = {
  api: 'api', consumers: 'consumers', redis: 'redis', postgres: 'postgres', loadgen: 'load generator',
}
const n = (x: number) => x.toLocaleString('en-US')
const X_SECONDS = 'seconds into the load'

function lines(
  title: string, subtitle: string, yLabel: string, samples: Sample[], series: [string, (s: Sample) => number | null][]
): LineChart {
  const points = series.flatMap(([name, f]) => samples.flatMap((s) => {
    const y = f(s)
    return y === null || !Number.isFinite(y) ? [] : [{ x: s.t, y, series: name }]
  }))
  const domain = series.map(([name]) => name)
  return { kind: 'lines', title, subtitle, xLabel: X_SECONDS, yLabel, points, domain, colors: PALETTE.slice(0, domain.length) }
}

function cpuGroupsPresent(figures: (CpuFigures | undefined)[]): CpuGroup[] {
  return CPU_GROUPS.filter((g) => figures.some((f) => f?.groups[g]))
}

/** One stacked bar per row: the CPU each group spent per unit. */
function cpuStack(title: string, subtitle: string, xLabel: string, rows: { label: string; cpu?: CpuFigures }[]): BarChart | null {
  const metered = rows.filter((r) => r.cpu)
  if (metered.length === 0) return null
  const groups = cpuGroupsPresent(metered.map((r) => r.cpu))
  const bars = metered.flatMap((r) => groups.flatMap((g) => {
    const us = r.cpu!.groups[g]?.usPerUnit
    return us === null || us === undefined ? [] : [{ label: r.label, value: us, group: GROUP_NAMES[g], text: `${formatUs(us)} µs` }]
  }))
  return {
    kind: 'bars', title, subtitle, xLabel, bars, domain: groups.map((g) => GROUP_NAMES[g]), colors: groups.map((g) => GROUP_COLORS[g]),
  }
}

/** The run at a glance: req/s of every HTTP scenario against the baseline, and what each request cost in CPU. */
export function summaryCharts(run: BenchRun): ChartSpec[] {
  const rows = summaryRows(run).filter((r) => r.load)
  if (rows.length === 0) return []
  const throughput: BarChart = {
    kind: 'bars', title: 'Requests answered per second, per scenario',
    subtitle: 'Whole-run average from the load generator; × baseline is the ratio to a bare Fastify route in the same run',
    xLabel: 'requests per second',
    bars: rows.map((r) => ({
      label: r.name,
      value: r.rate,
      group: isBaseline(r.name) ? 'bare Fastify' : 'tally',
      text: `${n(r.rate)} req/s${r.ratio === null ? '' : ` · ${r.ratio.toFixed(2)} ×`}`,
    })),
    domain: ['bare Fastify', 'tally'], colors: ['#9c9c9c', GROUP_COLORS.api],
  }
  const cpu = cpuStack('CPU per request, by process group', 'utime + stime from /proc over the load, divided by the requests served',
    'µs of CPU per request', rows.map((r) => ({ label: r.name, ...(r.cpu ? { cpu: r.cpu } : {}) })))
  return cpu ? [throughput, cpu] : [throughput]
}

const hasVotes = (samples: Sample[]) => samples.some((s) => s.acceptedPerSecond > 0 || s.appliedPerSecond > 0 || s.lag > 0 || s.pending > 0)

function percent(x: number): string {
  const p = Math.round(x * 1000) / 10
  return `${p > 0 ? '+' : p < 0 ? '−' : '±'}${Math.abs(p)}%`
}

/** One HTTP scenario over time (when sampled) and its CPU by process. */
export function scenarioCharts(result: ScenarioResult): ChartSpec[] {
  // The sampler's first reading has no earlier one to subtract: its rates and latency are not measurements.
  const rated = (result.samples ?? []).slice(1)
  const all = result.samples ?? []
  const charts: ChartSpec[] = []
  if (rated.length > 0) {
    const votes = hasVotes(all)
    charts.push(lines('Throughput, each second',
      votes ? 'Requests the API answered, and votes accepted into the stream and applied to PostgreSQL' : 'Requests the API answered',
      'per second', rated, [
        ['requests answered', (s) => s.requestsPerSecond],
        ...(votes
          ? [
              ['votes accepted', (s: Sample) => s.acceptedPerSecond],
              ['votes applied', (s: Sample) => s.appliedPerSecond],
            ] as [string, (s: Sample) => number][]
          : []),
      ]))
    const l = result.load?.latencyMs
    charts.push(lines('API latency, each second',
      `From the API's own histogram${l ? `; whole run at the client: p50 ${l.p50}, p99 ${l.p99}, p99.9 ${l.p999} ms` : ''}`,
      'latency (ms)', rated, [['p50', (s) => s.p50Ms], ['p99', (s) => s.p99Ms]]))
    if (votes) {
      const d = result.extra.drain as { drainedAfterMs?: number; auditOk?: boolean; deadLetters?: number } | undefined
      const after = d?.drainedAfterMs === undefined
        ? 'Group-wide gauges of the vote streams'
        : `After the load the backlog drained in ${n(d.drainedAfterMs)} ms; ` +
          `audit ${d.auditOk ? 'ok' : 'FAILED'}, ${n(d.deadLetters ?? 0)} dead letters`
      charts.push(lines('Vote backlog, each second', after, 'stream entries', all,
        [['not yet delivered', (s) => s.lag], ['delivered, not yet acked', (s) => s.pending]]))
    }
    const growth = result.extra.memoryGrowth as Record<string, number> | undefined
    const processes = Object.keys(all[0]?.rssMiB ?? {})
    charts.push(lines('Resident memory, each process',
      growth
        ? `Growth after warm-up: ${Object.entries(growth).map(([p, g]) => `${p} ${percent(g)}`).join(', ')}`
        : 'Resident set size, from each process\'s /metrics',
      'resident memory (MiB)', all, processes.map((p) => [p, (s) => s.rssMiB[p] ?? null])))
  }
  const byProcess = result.cpu && processCpu(result.cpu)
  if (byProcess) charts.push(byProcess)
  return charts
}

/** Every metered process of one scenario, PostgreSQL's backends as one bar (they come and go). */
export function processCpu(cpu: CpuFigures): BarChart | null {
  const unit = cpu.unit === 'vote' ? 'vote applied' : 'request'
  const bars = CPU_GROUPS.flatMap((g): Bar[] => {
    const group = cpu.groups[g]
    if (!group) return []
    const bar = (label: string, us: number | null, share: number) => ({
      label, value: us ?? 0, group: GROUP_NAMES[g], text: `${us === null ? '–' : formatUs(us)} µs · ${Math.round(share * 100)}% of a core`,
    })
    if (g === 'postgres') {
      return [bar(`postgres (${group.processes.length} backend${group.processes.length === 1 ? '' : 's'})`,
        group.usPerUnit, group.coreShare)]
    }
    return group.processes.map((p) =>
      bar(g === 'api' || g === 'consumers' ? p.name : `${GROUP_NAMES[g]}: ${p.name}`, p.usPerUnit, p.coreShare))
  })
  if (bars.length === 0) return null
  const groups = cpuGroupsPresent([cpu])
  return {
    kind: 'bars',
    title: `CPU per ${unit}, each process`,
    subtitle: `utime + stime from /proc over ${cpu.wallSeconds} s, divided by ${n(cpu.units)} ${unit}s`,
    xLabel: `µs of CPU per ${unit}`, bars, domain: groups.map((g) => GROUP_NAMES[g]), colors: groups.map((g) => GROUP_COLORS[g]),
  }
}

/** The drain: votes applied per second by 1, 2 … consumers against the in-process ceiling, and their CPU per vote. */
export function drainCharts(result: ScenarioResult): ChartSpec[] {
  const d = result.extra as Partial<DrainFigures>
  const rows = [
    ...(d.ceilingPerSecond
      ? [{ label: 'ceiling (in-process apply)', perSecond: d.ceilingPerSecond, isCeiling: true, text: '', cpu: d.ceilingCpu }]
      : []),
    ...Object.entries(d.byConsumers ?? {}).map(([k, f]) => ({
      label: `${k} consumer${k === '1' ? '' : 's'}`,
      perSecond: f.perSecond,
      isCeiling: false,
      cpu: f.cpu,
      text: ` in ${f.seconds} s · ${f.ratioToCeiling.toFixed(2)} ×`,
    })),
  ]
  if (rows.length === 0) return []
  const rate: BarChart = {
    kind: 'bars', title: 'Drain: votes applied per second',
    subtitle: `${n(d.votes ?? 0)} votes pre-filled in the stream, then drained; ` +
      '× is to the ceiling: the same apply on in-memory batches, no Redis, no process boundary',
    xLabel: 'votes applied per second',
    bars: rows.map((r) => ({
      label: r.label, value: r.perSecond, group: r.isCeiling ? 'ceiling' : 'consumers', text: `${n(r.perSecond)}/s${r.text}`,
    })),
    domain: ['ceiling', 'consumers'], colors: ['#9c9c9c', GROUP_COLORS.consumers],
  }
  const cpu = cpuStack('Drain: CPU per vote applied, by process group',
    'utime + stime from /proc while the stream drained, divided by the votes applied',
    'µs of CPU per vote applied', rows.map((r) => ({ label: r.label, ...(r.cpu ? { cpu: r.cpu } : {}) })))
  return cpu ? [rate, cpu] : [rate]
}
