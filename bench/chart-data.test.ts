import { test } from 'node:test'
import assert from 'node:assert/strict'
import { drainCharts, scenarioCharts, summaryCharts, type BarChart, type ChartSpec, type LineChart } from './chart-data.js'
import type { CpuFigures, GroupCpu } from './cpu-meter.js'
import type { Sample } from './sampler.js'
import type { BenchRun } from './report.js'
import { loadResult } from './load-fixture.js'

const sample = (t: number, votes: number, p50Ms: number | null = 2): Sample => ({
  t, requestsPerSecond: t === 1 ? 0 : 5000, p50Ms: p50Ms as number, p99Ms: p50Ms === null ? (null as unknown as number) : 9,
  acceptedPerSecond: votes, appliedPerSecond: votes, lag: votes > 0 ? 3 : 0, pending: 0, rssMiB: { api: 90 + t, 'consumer-1': 70 },
})
const group = (usPerUnit: number, processes: [string, number][]): GroupCpu => ({
  cpuSeconds: 1,
  usPerUnit,
  coreShare: 0.5,
  processes: processes.map(([name, pid]) => ({ name, pid, cpuSeconds: 0.5, usPerUnit: usPerUnit / processes.length, coreShare: 0.25 })),
})
const cpu = (groups: CpuFigures['groups'], unit: 'request' | 'vote' = 'request'): CpuFigures => ({
  unit, units: 50_000, wallSeconds: 10, clockTicksPerSecond: 100, groups,
})
const load = (rps: number) => loadResult(rps, { statusCounts: { 202: rps }, total: rps })
const titled = (charts: ChartSpec[], start: string) => charts.find((c) => c.title.startsWith(start))
const seriesOf = (c: ChartSpec | undefined) => [...new Set((c as LineChart).points.map((p) => p.series))]

test('a sampled vote scenario charts throughput with votes, latency, backlog, memory and CPU, each axis with its unit', () => {
  const charts = scenarioCharts({ name: 'mixed', load: load(5000), samples: [sample(1, 0, null), sample(2, 900), sample(3, 950)],
    cpu: cpu({ api: group(200, [['api', 10]]), postgres: group(60, [['backend/30', 30], ['backend/31', 31]]) }),
    extra: { drain: { drainedAfterMs: 103, auditOk: true, deadLetters: 0 }, memoryGrowth: { api: 0.186 } } })
  assert.deepEqual(charts.map((c) => c.title), [
    'Throughput, each second', 'API latency, each second', 'Vote backlog, each second', 'Resident memory, each process',
    'CPU per request, each process',
  ])
  assert.deepEqual(seriesOf(charts[0]), ['requests answered', 'votes accepted', 'votes applied'])
  assert.deepEqual(seriesOf(charts[1]), ['p50', 'p99'])
  assert.deepEqual(charts.slice(0, 4).map((c) => [c.xLabel, (c as LineChart).yLabel]), [
    ['seconds into the load', 'per second'], ['seconds into the load', 'latency (ms)'], ['seconds into the load', 'stream entries'],
    ['seconds into the load', 'resident memory (MiB)']])
  assert.match(charts[1]!.subtitle, /whole run at the client: p50 1, p99 4, p99\.9 9 ms/)
  assert.match(charts[2]!.subtitle, /drained in 103 ms; audit ok, 0 dead letters/)
  assert.match(charts[3]!.subtitle, /api \+18\.6%/)
  const byProcess = charts[4] as BarChart
  assert.equal(byProcess.xLabel, 'µs of CPU per request')
  assert.deepEqual(byProcess.bars.map((b) => [b.label, b.text]), [
    ['api', '200 µs · 25% of a core'], ['postgres (2 backends)', '60.0 µs · 50% of a core'],
  ])
})

test('the first sample gives no rate or latency (nothing before it to subtract), but its backlog and memory count', () => {
  const charts = scenarioCharts({ name: 'vote-spread', load: load(5000), samples: [sample(1, 0, null), sample(2, 900)], extra: {} })
  assert.deepEqual((charts[0] as LineChart).points.map((p) => p.x), [2, 2, 2])
  assert.deepEqual((titled(charts, 'API latency') as LineChart).points.map((p) => p.x), [2, 2])
  assert.deepEqual((titled(charts, 'Resident memory') as LineChart).points.filter((p) => p.series === 'api').map((p) => [p.x, p.y]),
    [[1, 91], [2, 92]])
})

test('a read scenario has no vote series and no backlog chart; one without samples charts only its CPU', () => {
  const read = scenarioCharts({ name: 'read-list', load: load(9000), samples: [sample(1, 0), sample(2, 0)], extra: {} })
  assert.deepEqual(read.map((c) => c.title), ['Throughput, each second', 'API latency, each second', 'Resident memory, each process'])
  assert.deepEqual(seriesOf(read[0]), ['requests answered'])
  const baseline = scenarioCharts({
    name: 'baseline',
    load: load(20000),
    cpu: cpu({ api: group(36, [['baseline-server', 7]]), loadgen: group(47, [['bench', 5]]) }),
    extra: {},
  })
  assert.deepEqual(baseline.map((c) => c.title), ['CPU per request, each process'])
  assert.deepEqual((baseline[0] as BarChart).bars.map((b) => [b.label, b.group]), [
    ['baseline-server', 'api'], ['load generator: bench', 'load generator'],
  ])
})

test('the drain charts votes applied per second of each consumer count beside the ceiling, and CPU per vote by group', () => {
  const charts = drainCharts({
    name: 'drain',
    extra: {
      votes: 1_000_000,
      ceilingPerSecond: 22129,
      ceilingCpu: cpu({ postgres: group(42, [['backend/40', 40]]) }, 'vote'),
      byConsumers: {
        1: {
          seconds: 46.05, perSecond: 21716, ratioToCeiling: 0.98,
          cpu: cpu({ consumers: group(7.1, [['consumer-1', 50]]), postgres: group(39.6, [['backend/51', 51]]) }, 'vote'),
        },
        2: { seconds: 34.12, perSecond: 29306, ratioToCeiling: 1.32 },
      },
    },
  })
  const rate = charts[0] as BarChart
  assert.equal(rate.xLabel, 'votes applied per second')
  assert.deepEqual(rate.bars.map((b) => [b.label, b.group, b.text]), [
    ['ceiling (in-process apply)', 'ceiling', '22,129/s'], ['1 consumer', 'consumers', '21,716/s in 46.05 s · 0.98 ×'],
    ['2 consumers', 'consumers', '29,306/s in 34.12 s · 1.32 ×']])
  assert.match(rate.subtitle, /1,000,000 votes/)
  const perVote = charts[1] as BarChart
  assert.equal(perVote.xLabel, 'µs of CPU per vote applied')
  assert.deepEqual(perVote.bars.map((b) => [b.label, b.group, b.value]), [
    ['ceiling (in-process apply)', 'postgres', 42], ['1 consumer', 'consumers', 7.1], ['1 consumer', 'postgres', 39.6],
  ], 'the unmetered row has no bar')
})

test('the summary has a bar per HTTP scenario with its rate and ratio, and CPU per request stacked in fixed group colours', () => {
  const run: BenchRun = { date: '2026-11-25T06:00:00.000Z', command: 'npm run bench', options: {},
    machine: { cores: 2, memoryGiB: 24, cpu: 'test cpu', node: 'v20', postgres: '15', redis: '7' },
    results: [{ name: 'baseline', load: load(40000), extra: {}, cpu: cpu({ api: group(40, [['baseline-server', 7]]) }) },
      {
        name: 'vote-spread', load: load(10000), extra: {},
        cpu: cpu({ api: group(130, [['api', 10]]), postgres: group(44, [['backend/30', 30]]) }),
      },
      { name: 'drain', extra: { ceilingPerSecond: 50000 } }] }
  const [rate, stacked] = summaryCharts(run) as BarChart[]
  assert.deepEqual(rate!.bars.map((b) => b.text), ['40,000 req/s · 1.00 ×', '10,000 req/s · 0.25 ×'])
  assert.deepEqual(stacked!.domain, ['api', 'postgres'])
  const drainCpu = drainCharts({
    name: 'drain', extra: { ceilingPerSecond: 1, ceilingCpu: cpu({ postgres: group(1, [['b', 1]]) }, 'vote') },
  })[1] as BarChart
  assert.equal(stacked!.colors[1], drainCpu.colors[0], 'postgres has one colour in every chart')
})
