/**
 * The HTML report: one self-contained file (no network) with the summary as real tables, and per
 * scenario its figures and charts. Charts are Observable Plot figures drawn in the browser from the
 * specs in chart-data.ts; d3 and Plot are inlined from node_modules when the report is written.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { BenchRun, SummaryMarkdown } from './report.js'
import type { ScenarioResult } from './scenarios.js'
import { drainCharts, scenarioCharts, summaryCharts, type ChartSpec } from './chart-data.js'
import { escapeHtml as esc, markdownToHtml } from './markdown-html.js'

/** A package's browser bundle, as its package.json names it under exports.umd (d3 and Plot both do). */
function umdBundle(name: string, from: string): string {
  const entry = createRequire(from).resolve(name)
  for (let dir = dirname(entry); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (!existsSync(manifest)) continue
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; exports?: { umd?: string } }
    if (pkg.name !== name) continue
    if (!pkg.exports?.umd) throw new Error(`${name} names no UMD bundle in its exports`)
    return join(dir, pkg.exports.umd)
  }
  throw new Error(`no package.json of ${name} above ${entry}`)
}

/** The scripts the page runs, in order: d3 (Plot's dependency, as the global it expects), Plot, ours. */
export function chartScripts(): string[] {
  const plot = umdBundle('@observablehq/plot', import.meta.url)
  const d3 = umdBundle('d3', plot)
  return [d3, plot, new URL('./report-page.js', import.meta.url).pathname].map((f) => readFileSync(f, 'utf8'))
}

// "</script" inside inlined code or data would end the element early.
const inlineScript = (code: string) => `<script>${code.replace(/<\/(script)/gi, '<\\/$1')}</script>`

const humanize = (key: string) => key.replace(/Ms$/, ' (ms)').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()
/** Figures already drawn (CPU, drain rates, memory growth) are left to the charts. */
const DRAWN = new Set(['cpu', 'ceilingCpu', 'byConsumers', 'memoryGrowth'])

function facts(extra: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.entries(extra).filter(([k]) => !DRAWN.has(k)).flatMap(([k, v]): [string, string][] => {
    const key = prefix + humanize(k)
    if (v !== null && typeof v === 'object') return facts(v as Record<string, unknown>, `${key} · `)
    return [[key, typeof v === 'number' ? v.toLocaleString('en-US') : String(v)]]
  })
}

function loadLine(r: ScenarioResult): string {
  const l = r.load
  if (!l) return ''
  const statuses = Object.entries(l.statusCounts).map(([c, k]) => `${k.toLocaleString('en-US')} × ${c}`).join(', ')
  return `<p class="lead"><strong>${l.requestsPerSecond.toLocaleString('en-US')} req/s</strong> over ${l.durationSeconds} s · ` +
    `latency at the client p50 ${l.latencyMs.p50}, p99 ${l.latencyMs.p99}, p99.9 ${l.latencyMs.p999}, max ${l.latencyMs.max} ms · ` +
    `responses: ${esc(statuses)}` +
    `${l.errors + l.timeouts > 0 ? ` · <strong class="bad">${l.errors} errors, ${l.timeouts} timeouts</strong>` : ''}</p>`
}

function optionsLine(options: Record<string, unknown>): string {
  const known: [string, string][] = [
    ['durationSeconds', 's per scenario'], ['connections', 'connections'], ['users', 'users'], ['contents', 'contents'],
    ['consumers', 'consumer(s)'], ['apiProcesses', 'API process(es)'], ['drainVotes', 'votes to drain'],
  ]
  const parts = known.filter(([k]) => typeof options[k] === 'number')
    .map(([k, what]) => `${(options[k] as number).toLocaleString('en-US')} ${what}`)
  return parts.length > 0 ? `<p>Options: ${esc(parts.join(', '))}.</p>` : ''
}

export function toHtml(run: BenchRun, summary: SummaryMarkdown, comparison = ''): string {
  const specs: ChartSpec[] = []
  const charts = (list: ChartSpec[]) => (list.length === 0
    ? ''
    : `<div class="charts">\n${list.map((c) => {
    specs.push(c)
    return `<div class="chart" data-chart="${specs.length - 1}"><p class="placeholder">${esc(c.title)}</p></div>`
  }).join('\n')}\n</div>`)
  const id = (name: string) => `s-${name.replace(/[^a-z0-9-]/gi, '-')}`
  const head = `<header>
<h1>tally bench, ${esc(run.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</h1>
<p>${esc(summary.machine)}</p>
<p>Command: <code>${esc(run.command)}</code></p>
${optionsLine(run.options)}
<nav>Scenarios: ${run.results.map((r) => `<a href="#${id(r.name)}">${esc(r.name)}</a>`).join(' · ')}</nav>
</header>`
  const summarySection = `<section id="summary">
<h2>Summary</h2>
${charts(summaryCharts(run))}
${markdownToHtml(summary.rates)}
<p class="note">${esc(summary.cpuNote)}</p>
<h3>Responses</h3>
${markdownToHtml(summary.responses)}
${summary.processes
    ? `<details><summary>CPU of every process, per scenario (table)</summary>\n${markdownToHtml(summary.processes)}\n</details>`
    : ''}
${comparison ? `<div class="comparison">\n${markdownToHtml(comparison)}\n</div>` : ''}
</section>`
  const sections = run.results.map((r) => {
    const list = facts(r.extra)
    return `<section id="${id(r.name)}">
<h2>${esc(r.name)}</h2>
${loadLine(r)}
${list.length > 0 ? `<dl class="facts">${list.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>` : ''}
${charts(r.name === 'drain' ? drainCharts(r) : scenarioCharts(r))}
</section>`
  })
  // JSON inside a script element: "<" escaped so no string in it can close the element.
  const data = `<script type="application/json" id="chart-data">${JSON.stringify(specs).replace(/</g, '\\u003c')}</script>`
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tally bench ${esc(run.date)}</title>
<style>${readFileSync(new URL('./report-page.css', import.meta.url), 'utf8')}</style>
</head><body>
${head}
<main>
${summarySection}
${sections.join('\n')}
</main>
${data}
${chartScripts().map(inlineScript).join('\n')}
</body></html>
`
}
