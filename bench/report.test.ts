import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Script } from 'node:vm'
import { toMarkdown, writeReports, type BenchRun } from './report.js'
import type { CpuFigures, GroupCpu } from './cpu-meter.js'
import type { ChartSpec } from './chart-data.js'
import { loadResult } from './load-fixture.js'

const load = (rps: number) => loadResult(rps)
const run: BenchRun = {
  date: '2026-11-25T06:00:00.000Z', command: 'npm run bench', options: {},
  machine: { cores: 2, memoryGiB: 24, cpu: 'test cpu', node: 'v20', postgres: '15', redis: '7' },
  results: [{ name: 'baseline', load: load(40000), extra: {} }, { name: 'vote-spread', load: load(10000), extra: { accepted: 100000 } },
    { name: 'drain', extra: { ceilingPerSecond: 50000 } }],
}

const group = (usPerUnit: number, processes: [string, number, number][]): GroupCpu => ({
  cpuSeconds: processes.reduce((n, p) => n + p[2], 0), usPerUnit, coreShare: 0.5,
  processes: processes.map(([name, pid, cpuSeconds]) => ({
    name, pid, cpuSeconds, usPerUnit: usPerUnit / processes.length, coreShare: 0.25,
  })),
})
const cpu = (groups: CpuFigures['groups'], unit: 'request' | 'vote' = 'request'): CpuFigures => ({
  unit, units: 100_000, wallSeconds: 10, clockTicksPerSecond: 100, groups,
})

test('the summary gives every rate as a ratio to the baseline of the same run, – where no CPU was metered', () => {
  const md = toMarkdown(run)
  assert.match(md, /\| vote-spread \| 10000 \| 0\.25 \| 1 \| 4 \| 9 \| – \| – \| – \| – \| – \|/)
  assert.match(md, /\| vote-spread \| 0 \| 0 \| 202: 100000 \|/)
  assert.match(md, /2 cores \(test cpu\), 24 GiB/)
  assert.match(md, /- drain: \{"ceilingPerSecond":50000\}/)
})

test('every row carries CPU µs per request of each group, and each API and consumer process is listed', () => {
  const metered: BenchRun = { ...run, results: [
    {
      name: 'baseline', load: load(40000), extra: {},
      cpu: cpu({ api: group(41.25, [['baseline-server', 7, 16.5]]), loadgen: group(52, [['bench', 5, 20.8]]) }),
    },
    { name: 'vote-spread', load: load(10000), extra: {}, cpu: cpu({
      api: group(250, [['api', 10, 0.1], ['api/11', 11, 12.4], ['api/12', 12, 12.5]]), consumers: group(60.4, [['consumer-1', 20, 6.04]]),
      redis: group(8.26, [['redis-server', 3, 0.8]]), postgres: group(90, [['backend/30', 30, 4], ['backend/31', 31, 5]]),
      loadgen: group(97, [['bench', 5, 9.7]]),
    }) },
    { name: 'drain', extra: {
      votes: 1000, ceilingPerSecond: 20000, ceilingCpu: cpu({ postgres: group(40, [['backend/40', 40, 0.04]]) }, 'vote'),
      byConsumers: {
        1: { seconds: 0.1, perSecond: 10000, ratioToCeiling: 0.5, cpu: cpu({ consumers: group(25, [['consumer-1', 50, 0.025]]) }, 'vote') },
      },
    } },
  ] }
  const md = toMarkdown(metered)
  assert.match(md, /\| baseline \| 40000 \| 1 \| 1 \| 4 \| 9 \| 41\.3 \| – \| – \| – \| 52\.0 \|/)
  assert.match(md, /\| vote-spread \| 10000 \| 0\.25 \| 1 \| 4 \| 9 \| 250 \| 60\.4 \| 8\.3 \| 90\.0 \| 97\.0 \|/)
  assert.match(md, /\| drain ceiling \(in-process apply\) \| 20000 \| – \| – \| – \| – \| – \| – \| – \| 40\.0 \| – \|/)
  assert.match(md, /\| drain, 1 consumer \| 10000 \| – \| – \| – \| – \| – \| 25\.0 \| – \| – \| – \|/)
  for (const name of ['api', 'api/11', 'api/12', 'consumer-1']) assert.match(md, new RegExp(`\\| vote-spread \\| ${name} \\| \\d+ \\|`))
  assert.match(md, /\| vote-spread \| postgres: 2 backends \| – \| 9 \| 50% \| 90\.0 \|/)
  assert.doesNotMatch(md, /"ceilingCpu"|"cpu"/, 'the drain line of extras leaves the CPU objects to the tables')
})

test('JSON and Markdown files are written with the raw figures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-'))
  try {
    const files = writeReports(run, dir)
    assert.deepEqual(JSON.parse(readFileSync(files.json, 'utf8')).results[1].load.requestsPerSecond, 10000)
    assert.match(readFileSync(files.markdown, 'utf8'), /vote-spread/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

const sampledRun: BenchRun = { ...run, results: [
  ...run.results,
  { name: 'mixed', load: load(5000), extra: { drain: { drainedAfterMs: 103, auditOk: true } },
    samples: [
      { t: 1, requestsPerSecond: 0, p50Ms: NaN, p99Ms: NaN, acceptedPerSecond: 0, appliedPerSecond: 0, lag: 3, pending: 20,
        rssMiB: { api: 90, 'consumer-1': 70 } },
      { t: 2, requestsPerSecond: 5100, p50Ms: 2.5, p99Ms: 11, acceptedPerSecond: 950, appliedPerSecond: 940, lag: 0, pending: 10,
        rssMiB: { api: 91, 'consumer-1': 70 } }] },
  { name: 'read-list', load: load(6000), extra: {},
    samples: [
      { t: 1, requestsPerSecond: 0, p50Ms: NaN, p99Ms: NaN, acceptedPerSecond: 0, appliedPerSecond: 0, lag: 0, pending: 0,
        rssMiB: { api: 90 } },
      { t: 2, requestsPerSecond: 6000, p50Ms: 1, p99Ms: 5, acceptedPerSecond: 0, appliedPerSecond: 0, lag: 0, pending: 0,
        rssMiB: { api: 90 } }] },
] }

function htmlOf(r: BenchRun, comparison = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-'))
  try {
    return readFileSync(writeReports(r, dir, comparison).html, 'utf8')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
const scripts = (html: string) => [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].map((m) => ({ attrs: m[1]!, code: m[2]! }))
const chartSpecs = (html: string): ChartSpec[] => JSON.parse(scripts(html).find((s) => s.attrs.includes('id="chart-data"'))!.code)
const section = (html: string, name: string) => html.split(`<section id="s-${name}">`)[1]!.split('</section>')[0]!

test('the HTML report shows the summary as a table with a row per scenario, not as Markdown or JSON', () => {
  const html = htmlOf(sampledRun)
  const summary = html.split('<section id="summary">')[1]!.split('</section>')[0]!
  const rates = summary.split('<tbody>')[1]!.split('</tbody>')[0]!
  assert.deepEqual([...rates.matchAll(/<tr><th scope="row">([^<]+)<\/th>/g)].map((m) => m[1]),
    ['baseline', 'vote-spread', 'drain ceiling (in-process apply)', 'mixed', 'read-list'])
  assert.match(rates, /<th scope="row">vote-spread<\/th><td class="num">10000<\/td><td class="num">0\.25<\/td>/)
  const page = html.replace(/<script[\s\S]*?<\/script>/g, '')
  assert.doesNotMatch(page, /\|---|\{"/, 'no Markdown table rule and no JSON outside the scripts')
  assert.match(section(html, 'mixed'), /<dt>drain · drained after \(ms\)<\/dt><dd>103<\/dd>/)
})

test('the HTML report carries d3 and Observable Plot inline and loads nothing from elsewhere', () => {
  const html = htmlOf(sampledRun)
  const all = scripts(html)
  assert.ok(all.some((s) => s.code.includes('// @observablehq/plot v0.6')), 'Plot is inlined')
  assert.ok(all.some((s) => s.code.includes('https://d3js.org v7')), 'd3 is inlined')
  assert.ok(all.every((s) => !/\bsrc=/.test(s.attrs)), 'no script is fetched')
  assert.doesNotMatch(html.replace(/<script[\s\S]*?<\/script>/g, ''), /\s(src|href)=["']?(https?:)?\/\/|<link|@import|url\(/)
  // Each inlined script still parses: escaping "</script" inside them must not have broken the code.
  for (const s of all.filter((x) => !x.attrs.includes('application/json'))) assert.doesNotThrow(() => new Script(s.code))
})

test('each scenario has its section with its charts, the drain too, and the comparison as a table', () => {
  const comparison = '### Compared with before.json (2026-11-24T06:00:00.000Z)\n\n' +
    '| scenario | req/s |\n|---|---|\n| vote-spread | 9000 → 10000 (+11%) |\n'
  const html = htmlOf(sampledRun, comparison)
  const specs = chartSpecs(html)
  const titles = (name: string) => [...section(html, name).matchAll(/data-chart="(\d+)"/g)].map((m) => specs[Number(m[1])]!.title)
  assert.deepEqual(titles('mixed'), [
    'Throughput, each second', 'API latency, each second', 'Vote backlog, each second', 'Resident memory, each process',
  ])
  assert.deepEqual(titles('read-list'), ['Throughput, each second', 'API latency, each second', 'Resident memory, each process'])
  assert.deepEqual(titles('drain'), ['Drain: votes applied per second'])
  assert.match(section(html, 'vote-spread'), /<strong>10,000 req\/s<\/strong> over 10 s/)
  assert.match(html, /<h3>Compared with before\.json[^<]*<\/h3>/)
  assert.match(html, /<th scope="row">vote-spread<\/th><td class="num">9000 → 10000 \(\+11%\)<\/td>/)
})

test('the summary chart has one bar per HTTP scenario with its rate and ratio to the baseline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-'))
  try {
    const svg = readFileSync(writeReports(run, dir).svg, 'utf8')
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    assert.equal((svg.match(/<rect x=/g) ?? []).length, 2, 'baseline and vote-spread; drain has no HTTP load')
    assert.match(svg, /10,000 req\/s · 0\.25 ×/)
    assert.match(svg, /40,000 req\/s · 1\.00 ×/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('with the bare route measured before and after the scenarios, every ratio is to the mean of the two, and the drift is told', () => {
  const twice: BenchRun = { ...run, results: [
    { name: 'baseline', load: load(30000), extra: {}, cpu: cpu({ api: group(30, [['baseline-server', 7, 9]]) }) },
    { name: 'vote-spread', load: load(10000), extra: {} },
    { name: 'baseline (end)', load: load(50000), extra: {}, cpu: cpu({ api: group(20, [['baseline-server', 8, 10]]) }) },
  ] }
  const md = toMarkdown(twice)
  assert.match(md, /\| vote-spread \| 10000 \| 0\.25 \|/, '10000 / mean(30000, 50000)')
  assert.match(md, /\| baseline \| 30000 \| 0\.75 \|/)
  assert.match(md, /\| baseline \(end\) \| 50000 \| 1\.25 \|/)
  assert.match(md, /before the scenarios \(30000 req\/s\) and after them \(50000 req\/s\): 40000 req\/s, 25\.0 µs of CPU per request; the two differ by 67%, so the machine's speed changed during the run/)
  assert.doesNotMatch(toMarkdown(run), /before the scenarios/, 'a run with one baseline says nothing of a second')
})
