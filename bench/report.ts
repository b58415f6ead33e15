import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioResult } from './scenarios.js'
import { ratio, round } from './stats.js'
import { summaryChart, toHtml } from './html.js'

export interface Machine { cores: number; memoryGiB: number; cpu: string; node: string; postgres: string; redis: string }
export interface BenchRun { date: string; command: string; machine: Machine; options: Record<string, unknown>; results: ScenarioResult[] }

/** The Markdown summary: one row per scenario, every rate also as a ratio to the baseline of the same run. */
export function toMarkdown(run: BenchRun): string {
  const base = run.results.find((r) => r.name === 'baseline')?.load?.requestsPerSecond ?? 0
  const rows = run.results.flatMap((r) => {
    if (!r.load) return []
    const rps = r.load.requestsPerSecond
    const l = r.load.latencyMs
    const codes = Object.entries(r.load.statusCounts).map(([c, n]) => `${c}: ${n}`).join(', ')
    return `| ${r.name} | ${rps} | ${round(ratio(rps, base))} | ${l.p50} | ${l.p99} | ${l.p999} | ${r.load.errors} | ${codes} |`
  })
  const m = run.machine
  return [
    `## tally bench, ${run.date}`,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}. Load generator on the same machine.`,
    `Command: \`${run.command}\``,
    '',
    '| scenario | req/s | × baseline | p50 ms | p99 ms | p99.9 ms | errors | responses |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...run.results.filter((r) => Object.keys(r.extra).length > 0).map((r) => `- ${r.name}: ${JSON.stringify(r.extra)}`),
    '',
  ].join('\n')
}

export function writeReports(run: BenchRun, outDir: string): { json: string; markdown: string; html: string; svg: string } {
  mkdirSync(outDir, { recursive: true })
  const stamp = run.date.replace(/[:.]/g, '-')
  const measured = run.results.map((r) => r.name).filter((n) => n !== 'baseline')
  const names = measured.length === 0 ? 'baseline' : measured.length > 3 ? 'all' : measured.join('+')
  const json = join(outDir, `${stamp}-${names}.json`)
  const markdown = join(outDir, `${stamp}-${names}.md`)
  writeFileSync(json, JSON.stringify(run, null, 2))
  const html = join(outDir, `${stamp}-${names}.html`)
  writeFileSync(markdown, toMarkdown(run))
  writeFileSync(html, toHtml(run, toMarkdown(run)))
  const svg = join(outDir, `${stamp}-${names}.svg`)
  writeFileSync(svg, summaryChart(run))
  return { json, markdown, html, svg }
}
