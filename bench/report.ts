import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioResult } from './scenarios.js'
import { CPU_GROUPS } from './cpu-meter.js'
import { BASELINE_END, baselineOf, DASH, formatUs, isBaseline, summaryRows, usCell, type SummaryRow } from './summary-rows.js'
import { toHtml } from './html.js'
import { summaryChart } from './summary-svg.js'

export interface Machine { cores: number; memoryGiB: number; cpu: string; node: string; postgres: string; redis: string }
export interface BenchRun { date: string; command: string; machine: Machine; options: Record<string, unknown>; results: ScenarioResult[] }

const CPU_NOTE = 'CPU: utime + stime of each process from /proc/PID/stat over the load, in µs per request served ' +
  '(drain rows: per vote applied); api includes cluster workers, postgres the backends of the bench database; ' +
  'redis is every Redis server process (each node of a cluster); the machine\'s shared Redis counts others\' load on it too.'

/**
 * The summary's tables as Markdown: one row per scenario with its rate, its ratio to the baseline
 * of the same run, latency and CPU per request of each process; then responses, and CPU per process.
 * The .md file and the HTML report both show these, so the two never disagree.
 */
export function summaryMarkdown(run: BenchRun): SummaryMarkdown {
  const rows = summaryRows(run)
  const main = rows.map((r) => {
    const l = r.load?.latencyMs
    const cells = [r.name, r.rate, r.ratio ?? DASH, l?.p50 ?? DASH, l?.p99 ?? DASH, l?.p999 ?? DASH, ...CPU_GROUPS.map((g) => usCell(r, g))]
    return `| ${cells.join(' | ')} |`
  })
  const responses = rows.filter((r) => r.load).map((r) =>
    `| ${r.name} | ${r.load!.errors} | ${r.load!.timeouts} | ` +
    `${Object.entries(r.load!.statusCounts).map(([c, n]) => `${c}: ${n}`).join(', ')} |`)
  return {
    machine: machineLine(run.machine),
    rates: [
      '| scenario | req/s | × baseline | p50 ms | p99 ms | p99.9 ms | ' +
        'api µs/req | consumers µs/req | redis µs/req | postgres µs/req | loadgen µs/req |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...main,
    ].join('\n'),
    cpuNote: [CPU_NOTE, baselineNote(run)].filter(Boolean).join(' '),
    responses: ['| scenario | errors | timeouts | responses |', '|---|---|---|---|', ...responses].join('\n'),
    processes: processTable(rows).join('\n'),
  }
}
/** Where the bare route was measured twice: both figures, and that the ratios use their mean. */
function baselineNote(run: BenchRun): string {
  const start = run.results.find((r) => r.name === 'baseline')?.load
  const end = run.results.find((r) => r.name === BASELINE_END)?.load
  if (!start || !end) return ''
  const { rps, apiUs, drift } = baselineOf(run)
  return `× baseline: to the mean of the bare route's rate before the scenarios (${start.requestsPerSecond} req/s) and after them ` +
    `(${end.requestsPerSecond} req/s): ${Math.round(rps)} req/s${apiUs === null ? '' : `, ${formatUs(apiUs)} µs of CPU per request`}; ` +
    `the two differ by ${Math.round((drift ?? 0) * 100)}%` +
    `${(drift ?? 0) > 0.15 ? ', so the machine\'s speed changed during the run and the ratios are rough' : ''}.`
}

export interface SummaryMarkdown { machine: string; rates: string; cpuNote: string; responses: string; processes: string }

/** The Markdown report: machine and command, the summary's tables, then each scenario's own figures. */
export function toMarkdown(run: BenchRun): string {
  const parts = summaryMarkdown(run)
  return [
    `## tally bench, ${run.date}`,
    '',
    parts.machine,
    `Command: \`${run.command}\``,
    '',
    parts.rates,
    '',
    parts.cpuNote,
    '',
    parts.responses,
    '',
    ...(parts.processes ? [parts.processes, ''] : []),
    ...run.results.filter((r) => Object.keys(r.extra).length > 0)
      .map((r) => `- ${r.name}: ${JSON.stringify(r.extra, (key, value) => (key === 'cpu' || key === 'ceilingCpu' ? undefined : value))}`),
    '',
  ].join('\n')
}

const machineLine = (m: Machine): string =>
  `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}. ` +
  'Load generator on the same machine.'

/** Per process: the API primary and each worker, each consumer; PostgreSQL's backends as one line. */
function processTable(rows: SummaryRow[]): string[] {
  const lines = rows.flatMap((r) => {
    if (!r.cpu) return []
    const groups = r.cpu.groups
    const line = (name: string, pid: number | string, g: { cpuSeconds: number; coreShare: number; usPerUnit: number | null },
      note = '') =>
      `| ${r.name} | ${name} | ${pid} | ${g.cpuSeconds} | ${Math.round(g.coreShare * 100)}% | ` +
      `${g.usPerUnit === null ? DASH : formatUs(g.usPerUnit)} | ${note} |`
    const each = (['api', 'consumers'] as const)
      .flatMap((name) => (groups[name]?.processes ?? []).map((p) => line(p.name, p.pid, p, p.note ?? '')))
    const pg = groups.postgres
    // Backends the API's pool opens as the load ramps up are "started" (counted from 0): a count, not a list.
    const notes = (['started', 'exited'] as const).map((n) => [n, (pg?.processes ?? []).filter((p) => p.note === n).length] as const)
      .filter(([, k]) => k > 0).map(([n, k]) => `${k} ${n}`).join(', ')
    return [
      ...each,
      ...(pg ? [line(`postgres: ${pg.processes.length} backend${pg.processes.length === 1 ? '' : 's'}`, DASH, pg, notes)] : []),
      ...(['redis', 'loadgen'] as const)
        .flatMap((name) => (groups[name]?.processes ?? []).map((p) => line(`${name}: ${p.name}`, p.pid, p, p.note ?? ''))),
    ]
  })
  if (lines.length === 0) return []
  return ['| scenario | process | pid | CPU s | of one core | µs per unit | note |', '|---|---|---|---|---|---|---|', ...lines]
}

/**
 * JSON (every raw figure), Markdown, HTML with charts, and the summary SVG (an image the README can
 * show, where no script runs); `comparison` (from --compare) goes under the summary.
 */
export function writeReports(
  run: BenchRun, outDir: string, comparison = ''
): { json: string; markdown: string; html: string; svg: string } {
  mkdirSync(outDir, { recursive: true })
  const stamp = run.date.replace(/[:.]/g, '-')
  const measured = run.results.map((r) => r.name).filter((n) => !isBaseline(n))
  const names = measured.length === 0 ? 'baseline' : measured.length > 3 ? 'all' : measured.join('+')
  const json = join(outDir, `${stamp}-${names}.json`)
  const markdown = join(outDir, `${stamp}-${names}.md`)
  const text = comparison ? `${toMarkdown(run)}\n${comparison}` : toMarkdown(run)
  writeFileSync(json, JSON.stringify(run, null, 2))
  const html = join(outDir, `${stamp}-${names}.html`)
  writeFileSync(markdown, text)
  writeFileSync(html, toHtml(run, summaryMarkdown(run), comparison))
  const svg = join(outDir, `${stamp}-${names}.svg`)
  writeFileSync(svg, summaryChart(run))
  return { json, markdown, html, svg }
}
