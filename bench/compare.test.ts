import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beside, compareRuns, loadRun } from './compare.js'
import type { BenchRun } from './report.js'
import type { CpuFigures } from './cpu-meter.js'
import { loadResult } from './load-fixture.js'

const load = (rps: number, p99: number) =>
  loadResult(rps, { latencyMs: { p50: 1, p99, p999: 9, mean: 1.2, max: 20 }, statusCounts: {} })
const group = (usPerUnit: number) => ({ cpuSeconds: 1, usPerUnit, coreShare: 0.1, processes: [] })
const cpu = (groups: CpuFigures['groups']): CpuFigures => ({
  unit: 'request', units: 1000, wallSeconds: 10, clockTicksPerSecond: 100, groups,
})
const machine = { cores: 2, memoryGiB: 24, cpu: 'test cpu', node: 'v20', postgres: '15', redis: '7' }

// An old file: no CPU anywhere, and a scenario today's run does not have.
const before: BenchRun = { date: '2026-11-26T08:20:56.238Z', command: 'npm run bench', machine, options: {}, results: [
  { name: 'baseline', load: load(40000, 4), extra: {} },
  { name: 'vote-spread', load: load(8000, 40), extra: {} },
  { name: 'vote-hot', load: load(9000, 30), extra: {} },
  { name: 'drain', extra: {
    votes: 1000, ceilingPerSecond: 15000, byConsumers: { 1: { seconds: 1, perSecond: 15000, ratioToCeiling: 1 } },
  } },
] }
const now: BenchRun = { date: '2026-12-01T10:00:00.000Z', command: 'npm run bench -- --compare x', machine, options: {}, results: [
  { name: 'baseline', load: load(40000, 4), extra: {}, cpu: cpu({ api: group(40), loadgen: group(50) }) },
  {
    name: 'vote-spread', load: load(10000, 30), extra: {},
    cpu: cpu({ api: group(250), consumers: group(60), redis: group(8.5), postgres: group(90), loadgen: group(97) }),
  },
  { name: 'read-list', load: load(3000, 50), extra: {} },
  { name: 'drain', extra: {
    votes: 1000, ceilingPerSecond: 16000,
    byConsumers: { 1: { seconds: 1, perSecond: 12000, ratioToCeiling: 0.75, cpu: cpu({ consumers: group(25) }) } },
  } },
] }

test('a figure beside its earlier value shows the change; a missing side shows – and no change', () => {
  const cases: [number | null | undefined, number | null | undefined, string][] = [
    [8000, 10000, '8000 → 10000 (+25%)'],
    [40, 30, '40 → 30 (−25%)'],
    [5, 5, '5 → 5 (±0%)'],
    [undefined, 250, '– → 250'],
    [250, undefined, '250 → –'],
    [null, null, '–'],
    [0, 3, '0 → 3'],
  ]
  for (const [b, n, want] of cases) assert.equal(beside(b, n), want, `${b} → ${n}`)
})

test('only scenarios in both runs are compared, with req/s, ratio, p99 and – for CPU the old file lacks', () => {
  const md = compareRuns(before, now, 'bench/results/old.json')
  assert.match(md, /### Compared with bench\/results\/old\.json \(2026-11-26T08:20:56\.238Z\)/)
  assert.match(md, /\| vote-spread \| 8000 → 10000 \(\+25%\) \| 0\.2 → 0\.25 \(\+25%\) \| 40 → 30 \(−25%\) \| – → 250 \| – → 60\.0 \| – → 8\.5 \| – → 90\.0 \| – → 97\.0 \|/)
  assert.match(md, /\| drain ceiling \(in-process apply\) \| 15000 → 16000 \(\+7%\) \| – \| – \| – \| – \| – \| – \| – \|/)
  assert.match(md, /\| drain, 1 consumer \| 15000 → 12000 \(−20%\) \| – \| – \| – \| – → 25\.0 \| – \| – \| – \|/)
  assert.doesNotMatch(md, /vote-hot|read-list/)
})

test('two runs with CPU both give the change per process group', () => {
  const md = compareRuns(now, { ...now, results: [{ ...now.results[1]!, cpu: cpu({ api: group(200), redis: group(8.5) }) }] }, 'a.json')
  assert.match(md, /\| vote-spread \| 10000 → 10000 \(±0%\) \| 0\.25 → – \| 30 → 30 \(±0%\) \| 250 → 200 \(−20%\) \| 60\.0 → – \| 8\.5 → 8\.5 \(±0%\) \|/)
})

test('no scenario in common is said so; a file that is not a result is refused', () => {
  assert.match(compareRuns(before, { ...now, results: [] }, 'x'), /No scenario is in both runs\./)
  const dir = mkdtempSync(join(tmpdir(), 'tally-compare-'))
  try {
    writeFileSync(join(dir, 'bad.json'), '{"hello":1}')
    writeFileSync(join(dir, 'good.json'), JSON.stringify(before))
    assert.throws(() => loadRun(join(dir, 'bad.json')), /not a bench result JSON/)
    assert.equal(loadRun(join(dir, 'good.json')).results.length, 4)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
