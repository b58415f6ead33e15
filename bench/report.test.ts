import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toMarkdown, writeReports, type BenchRun } from './report.js'
import type { CpuFigures, GroupCpu } from './cpu-meter.js'

const load = (rps: number) => ({ requestsPerSecond: rps, latencyMs: { p50: 1, p99: 4, p999: 9, mean: 1.2, max: 20 }, statusCounts: { 202: rps * 10 }, errors: 0, timeouts: 0, total: rps * 10, durationSeconds: 10 })
const run: BenchRun = {
  date: '2026-11-25T06:00:00.000Z', command: 'npm run bench', options: {},
  machine: { cores: 2, memoryGiB: 24, cpu: 'test cpu', node: 'v20', postgres: '15', redis: '7' },
  results: [{ name: 'baseline', load: load(40000), extra: {} }, { name: 'vote-spread', load: load(10000), extra: { accepted: 100000 } },
    { name: 'drain', extra: { ceilingPerSecond: 50000 } }],
}

const group = (usPerUnit: number, processes: [string, number, number][]): GroupCpu => ({
  cpuSeconds: processes.reduce((n, p) => n + p[2], 0), usPerUnit, coreShare: 0.5,
  processes: processes.map(([name, pid, cpuSeconds]) => ({ name, pid, cpuSeconds, usPerUnit: usPerUnit / processes.length, coreShare: 0.25 })),
})
const cpu = (groups: CpuFigures['groups'], unit: 'request' | 'vote' = 'request'): CpuFigures => ({ unit, units: 100_000, wallSeconds: 10, clockTicksPerSecond: 100, groups })

test('the summary gives every rate as a ratio to the baseline of the same run, – where no CPU was metered', () => {
  const md = toMarkdown(run)
  assert.match(md, /\| vote-spread \| 10000 \| 0\.25 \| 1 \| 4 \| 9 \| – \| – \| – \| – \| – \|/)
  assert.match(md, /\| vote-spread \| 0 \| 0 \| 202: 100000 \|/)
  assert.match(md, /2 cores \(test cpu\), 24 GiB/)
  assert.match(md, /- drain: \{"ceilingPerSecond":50000\}/)
})

test('every row carries CPU µs per request of each group, and each API and consumer process is listed', () => {
  const metered: BenchRun = { ...run, results: [
    { name: 'baseline', load: load(40000), extra: {}, cpu: cpu({ api: group(41.25, [['baseline-server', 7, 16.5]]), loadgen: group(52, [['bench', 5, 20.8]]) }) },
    { name: 'vote-spread', load: load(10000), extra: {}, cpu: cpu({
      api: group(250, [['api', 10, 0.1], ['api/11', 11, 12.4], ['api/12', 12, 12.5]]), consumers: group(60.4, [['consumer-1', 20, 6.04]]),
      redis: group(8.26, [['redis-server', 3, 0.8]]), postgres: group(90, [['backend/30', 30, 4], ['backend/31', 31, 5]]), loadgen: group(97, [['bench', 5, 9.7]]),
    }) },
    { name: 'drain', extra: { votes: 1000, ceilingPerSecond: 20000, ceilingCpu: cpu({ postgres: group(40, [['backend/40', 40, 0.04]]) }, 'vote'),
      byConsumers: { 1: { seconds: 0.1, perSecond: 10000, ratioToCeiling: 0.5, cpu: cpu({ consumers: group(25, [['consumer-1', 50, 0.025]]) }, 'vote') } } } },
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

test('the HTML report is self-contained and charts sampled scenarios', () => {
  const sampledRun: BenchRun = { ...run, results: [...run.results, { name: 'mixed', load: load(5000), extra: {},
    samples: [{ t: 1, requestsPerSecond: 4900, p50Ms: 2, p99Ms: 9, acceptedPerSecond: 900, appliedPerSecond: 880, lag: 3, pending: 20, rssMiB: { api: 90, 'consumer-1': 70 } },
      { t: 2, requestsPerSecond: 5100, p50Ms: 2.5, p99Ms: 11, acceptedPerSecond: 950, appliedPerSecond: 940, lag: 0, pending: 10, rssMiB: { api: 91, 'consumer-1': 70 } }] },
  { name: 'read-list', load: load(6000), extra: {},
    samples: [{ t: 1, requestsPerSecond: 6000, p50Ms: 1, p99Ms: 5, acceptedPerSecond: 0, appliedPerSecond: 0, lag: 0, pending: 0, rssMiB: { api: 90 } }] }] }
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-'))
  try {
    const html = readFileSync(writeReports(sampledRun, dir).html, 'utf8')
    assert.match(html, /<h2>mixed<\/h2>/)
    const section = (name: string) => html.split(`<h2>${name}</h2>`)[1]!.split('<h2>')[0]!
    // mixed: requests, latency, votes, backlog, memory; read-list has no votes, so no vote or backlog chart.
    assert.equal((section('mixed').match(/<svg /g) ?? []).length, 5)
    assert.equal((section('read-list').match(/<svg /g) ?? []).length, 3)
    assert.match(section('mixed'), /API latency over each second/)
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
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
