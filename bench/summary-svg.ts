/**
 * The README's chart: every HTTP scenario's throughput as a bar, in multiples of the baseline of the
 * same run. A static SVG file on purpose: GitHub shows an image but runs no script, so this one is
 * drawn here; the HTML report draws its charts with Observable Plot (html.ts).
 */
import type { BenchRun } from './report.js'
import { escapeHtml as esc } from './markdown-html.js'
import { baselineOf, isBaseline } from './summary-rows.js'

export function summaryChart(run: BenchRun): string {
  const base = baselineOf(run).rps
  const bars = run.results.filter((r) => r.load).map((r) => ({
    name: r.name, rps: r.load!.requestsPerSecond, x: base > 0 ? r.load!.requestsPerSecond / base : 0,
  }))
  const row = 22
  const pad = { l: 150, r: 150, t: 30 }
  const width = 720
  const plot = width - pad.l - pad.r
  const height = pad.t + bars.length * row + 10
  const items = bars.map((b, i) => {
    const y = pad.t + i * row
    const w = Math.max(1, Math.min(1, b.x) * plot)
    return `<text x="${pad.l - 8}" y="${y + 14}" font-size="12" text-anchor="end">${esc(b.name)}</text>` +
      `<rect x="${pad.l}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 8}" fill="${isBaseline(b.name) ? '#999' : '#1f77b4'}"/>` +
      `<text x="${pad.l + w + 6}" y="${y + 14}" font-size="11">${b.rps.toLocaleString('en-US')} req/s · ${b.x.toFixed(2)} ×</text>`
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" ` +
    'aria-label="throughput as a multiple of the baseline">\n' +
    `<rect width="100%" height="100%" fill="#fff"/><text x="${pad.l}" y="16" font-size="13" font-weight="bold">` +
    `tally bench ${esc(run.date.slice(0, 10))}: req/s and × bare Fastify, same run</text>\n` +
    `${items.join('\n')}</svg>`
}
