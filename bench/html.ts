/**
 * A self-contained HTML report (no scripts, no network): the summary table and, per sampled scenario,
 * hand-written SVG line charts of throughput, backlog and memory over time.
 */
import type { BenchRun } from './report.js'
import type { Sample } from './sampler.js'

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']

/** One SVG chart: a line per series over x = seconds. */
export function lineChart(title: string, series: { name: string; points: [number, number][] }[], width = 640, height = 220): string {
  const pad = { l: 60, r: 10, t: 24, b: 30 }
  const xs = series.flatMap((s) => s.points.map((p) => p[0]))
  const ys = series.flatMap((s) => s.points.map((p) => p[1]))
  const xMax = Math.max(1, ...xs)
  const yMax = Math.max(1, ...ys)
  const x = (v: number) => pad.l + (v / xMax) * (width - pad.l - pad.r)
  const y = (v: number) => height - pad.b - (v / yMax) * (height - pad.t - pad.b)
  const lines = series.map((s, i) => `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`)
  const legend = series.map((s, i) => `<text x="${pad.l + 10 + i * 150}" y="${pad.t - 8}" fill="${COLORS[i % COLORS.length]}" font-size="11">${esc(s.name)}</text>`)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${esc(title)}">
<text x="${pad.l}" y="12" font-size="12" font-weight="bold">${esc(title)}</text>${legend.join('')}
<line x1="${pad.l}" y1="${y(0)}" x2="${width - pad.r}" y2="${y(0)}" stroke="#999"/><line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${y(0)}" stroke="#999"/>
<text x="${pad.l - 6}" y="${pad.t + 4}" font-size="10" text-anchor="end">${Math.round(yMax)}</text><text x="${pad.l - 6}" y="${y(0)}" font-size="10" text-anchor="end">0</text>
<text x="${width - pad.r}" y="${height - 10}" font-size="10" text-anchor="end">${xMax} s</text>
${lines.join('\n')}</svg>`
}

function charts(samples: Sample[]): string {
  const at = (f: (s: Sample) => number) => samples.filter((s) => Number.isFinite(f(s))).map((s) => [s.t, f(s)] as [number, number])
  const processes = Object.keys(samples[0]?.rssMiB ?? {})
  const votes = samples.some((s) => s.acceptedPerSecond > 0 || s.appliedPerSecond > 0 || s.lag > 0 || s.pending > 0)
  return [
    lineChart('requests answered per second', [{ name: 'requests/s', points: at((s) => s.requestsPerSecond) }]),
    lineChart('API latency over each second (ms)', [{ name: 'p50', points: at((s) => s.p50Ms) }, { name: 'p99', points: at((s) => s.p99Ms) }]),
    ...(votes ? [
      lineChart('votes per second', [{ name: 'accepted/s', points: at((s) => s.acceptedPerSecond) }, { name: 'applied/s', points: at((s) => s.appliedPerSecond) }]),
      lineChart('backlog (entries)', [{ name: 'not yet delivered', points: at((s) => s.lag) }, { name: 'pending', points: at((s) => s.pending) }]),
    ] : []),
    lineChart('resident memory (MiB)', processes.map((p) => ({ name: p, points: at((s) => s.rssMiB[p] ?? 0) }))),
  ].join('\n')
}

/** Every HTTP scenario's throughput as a bar, in multiples of the baseline of the same run: the README's chart. */
export function summaryChart(run: BenchRun): string {
  const base = run.results.find((r) => r.name === 'baseline')?.load?.requestsPerSecond ?? 0
  const bars = run.results.filter((r) => r.load).map((r) => ({ name: r.name, rps: r.load!.requestsPerSecond, x: base > 0 ? r.load!.requestsPerSecond / base : 0 }))
  const row = 22
  const pad = { l: 150, r: 150, t: 30 }
  const width = 720
  const plot = width - pad.l - pad.r
  const height = pad.t + bars.length * row + 10
  const items = bars.map((b, i) => {
    const y = pad.t + i * row
    const w = Math.max(1, Math.min(1, b.x) * plot)
    return `<text x="${pad.l - 8}" y="${y + 14}" font-size="12" text-anchor="end">${esc(b.name)}</text>`
      + `<rect x="${pad.l}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 8}" fill="${b.name === 'baseline' ? '#999' : COLORS[0]}"/>`
      + `<text x="${pad.l + w + 6}" y="${y + 14}" font-size="11">${b.rps.toLocaleString('en-US')} req/s · ${b.x.toFixed(2)} ×</text>`
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="throughput as a multiple of the baseline">
<rect width="100%" height="100%" fill="#fff"/><text x="${pad.l}" y="16" font-size="13" font-weight="bold">tally bench ${esc(run.date.slice(0, 10))}: req/s and × bare Fastify, same run</text>
${items.join('\n')}</svg>`
}

export function toHtml(run: BenchRun, markdownTable: string): string {
  const sections = run.results.filter((r) => r.samples && r.samples.length > 0)
    .map((r) => `<h2>${esc(r.name)}</h2>\n${charts(r.samples!)}`)
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tally bench ${esc(run.date)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}pre{background:#f6f6f6;padding:1em;overflow:auto}svg{display:block;margin:.5em 0}</style>
</head><body><h1>tally bench, ${esc(run.date)}</h1>
<pre>${esc(markdownTable)}</pre>
${summaryChart(run)}
${sections.join('\n')}
</body></html>`
}
