import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { BenchRun } from './report.js'
import type { CpuFigures, CpuGroup, GroupCpu } from './cpu-meter.js'
import { configurationOf, describeConfiguration, drainCeilings, scalingMarkdown, scalingRows, scalingTable } from './scaling-table.js'
import { loadResult } from './load-fixture.js'

const machine = { cores: 2, memoryGiB: 24, cpu: 'test cpu', node: 'v20', postgres: '15', redis: '7' }
const load = (rps: number) => loadResult(rps)
const group = (usPerUnit: number, coreShare: number): GroupCpu => ({ cpuSeconds: 1, usPerUnit, coreShare, processes: [] })
const cpu = (groups: Partial<Record<CpuGroup, [number, number]>>, unit: 'request' | 'vote' = 'request'): CpuFigures => ({
  unit, units: 100_000, wallSeconds: 10, clockTicksPerSecond: 100,
  groups: Object.fromEntries(Object.entries(groups).map(([g, [us, cores]]) => [g, group(us, cores)])),
})

const single: BenchRun = {
  date: '2026-12-01T10:00:00.000Z', command: 'npm run bench', machine, options: { redisCluster: 0, shards: 1, apiProcesses: 1 },
  results: [
    { name: 'baseline', load: load(40000), extra: {}, cpu: cpu({ api: [17.5, 0.7], loadgen: [22, 0.88] }) },
    {
      name: 'vote-spread', load: load(10000), extra: {},
      cpu: cpu({ api: [60, 0.6], consumers: [9, 0.09], redis: [16.8, 0.17], postgres: [29, 0.29], loadgen: [31, 0.31] }),
    },
    { name: 'drain', extra: { votes: 300000, ceilingPerSecond: 36000, ceilingCpu: cpu({ postgres: [25, 0.9] }, 'vote'), byConsumers: {
      1: { seconds: 9, perSecond: 33000, ratioToCeiling: 0.92,
        cpu: cpu({ consumers: [6, 0.2], redis: [2, 0.07], postgres: [26, 0.86] }, 'vote') },
      2: { seconds: 8, perSecond: 39000, ratioToCeiling: 1.08,
        cpu: cpu({ consumers: [6.5, 0.25], redis: [2, 0.08], postgres: [26, 1.01] }, 'vote') },
    } } },
  ],
}
const cluster: BenchRun = {
  ...single, options: { redisCluster: 3, shards: 6, apiProcesses: 2 },
  results: [
    { name: 'baseline', load: load(36000), extra: {}, cpu: cpu({ api: [18, 0.65] }) },
    { name: 'vote-spread', load: load(12000), extra: {}, cpu: cpu({ api: [62, 0.74], redis: [21, 0.25] }) },
  ],
}

test('each run is named by its Redis, shards and API processes, read from its own options', () => {
  assert.equal(configurationOf(single), 'one Redis, 1 shard, API ×1')
  assert.equal(configurationOf(cluster), 'cluster of 3, 6 shards, API ×2')
  assert.equal(configurationOf({ ...single, options: {} }), 'one Redis, 1 shard, API ×1',
    'an older file without the options is taken as the defaults')
  assert.equal(describeConfiguration({ redisCluster: 1, shards: 2, apiProcesses: 1 }), 'cluster of 1, 2 shards, API ×1')
})

test('a row per vote-spread and per drain consumer count, each with the baseline of its own run; the ceiling apart', () => {
  const rows = scalingRows([single, cluster])
  assert.deepEqual(rows.map((r) => [r.configuration, r.scenario, r.rate, r.unit, r.ratio]), [
    ['one Redis, 1 shard, API ×1', 'vote-spread', 10000, 'req/s', 0.25],
    ['one Redis, 1 shard, API ×1', 'drain, 1 consumer', 33000, 'votes/s', null],
    ['one Redis, 1 shard, API ×1', 'drain, 2 consumers', 39000, 'votes/s', null],
    ['cluster of 3, 6 shards, API ×2', 'vote-spread', 12000, 'req/s', 0.33],
  ])
  assert.deepEqual(rows[0]!.baseline, { rate: 40000, apiUs: 17.5 })
  assert.deepEqual(rows[3]!.baseline, { rate: 36000, apiUs: 18 })
  assert.deepEqual(drainCeilings([single, cluster]), [{ configuration: 'one Redis, 1 shard, API ×1', perSecond: 36000 }])
})

test('CPU per vote of each process kind with its share of a core, and how many cores the whole run kept busy', () => {
  const rows = scalingRows([single, cluster])
  assert.deepEqual(rows[0]!.cpu.redis, { us: 16.8, cores: 0.17 })
  assert.equal(rows[0]!.coresBusy, 1.46)
  assert.equal(rows[2]!.coresBusy, 1.34)
  const md = scalingTable(rows)
  assert.match(md, /\| one Redis, 1 shard, API ×1 \| vote-spread \| 10000 req\/s \| 0\.25 \| 60\.0 \(0\.60\) \| 9\.0 \(0\.09\) \| 16\.8 \(0\.17\) \| 29\.0 \(0\.29\) \| 31\.0 \(0\.31\) \| 1\.46 \| 40000 \| 17\.5 \|/)
  assert.match(md, /\| cluster of 3, 6 shards, API ×2 \| vote-spread \| 12000 req\/s \| 0\.33 \| 62\.0 \(0\.74\) \| – \| 21\.0 \(0\.25\) \| – \| – \| 0\.99 \| 36000 \| 18\.0 \|/,
    'a process kind that was not metered shows –')
  assert.match(md, /\| drain, 2 consumers \| 39000 votes\/s \| – \| – \| 6\.5 \(0\.25\)/)
  const [header, rule] = md.split('\n')
  assert.equal(header!.split('|').length, rule!.split('|').length, 'the rule has a cell per column')
})

test('the report lists every run with its command and time, marks a failed one, and says where a cluster put the shards', () => {
  const md = scalingMarkdown({
    date: '2026-12-01T10:00:00.000Z', minutes: 6.2, invocation: 'npm run bench:scaling', machine,
    runs: [single, { ...cluster, options: { ...cluster.options, shardsPerNode: { 'a:1': 1, 'b:2': 3, 'c:3': 2 } } }],
    steps: [
      {
        configuration: 'one Redis, 1 shard, API ×1', command: 'VOTE_STREAM_SHARDS=1 npm run bench -- --scenario vote-spread,drain',
        exitCode: 0, seconds: 80, json: 'bench/results/x/1/a.json',
      },
      {
        configuration: 'cluster of 3, 6 shards, API ×2', command: 'VOTE_STREAM_SHARDS=6 npm run bench -- --redis-cluster 3',
        exitCode: 1, seconds: 49, json: 'bench/results/x/2/b.json',
      },
    ],
  })
  assert.match(md, /`npm run bench:scaling`: 2 bench runs, one after another, 6\.2 min in all/)
  assert.match(md, /1\. `VOTE_STREAM_SHARDS=1 npm run bench -- --scenario vote-spread,drain`: 80 s → bench\/results\/x\/1\/a\.json/)
  assert.match(md, /2\. `VOTE_STREAM_SHARDS=6 npm run bench -- --redis-cluster 3`: 49 s, \*\*exit 1\*\*/)
  assert.match(md, /Machine: 2 cores \(test cpu\)/)
  assert.match(md, /Drain ceiling .*: 36000 votes\/s \(one Redis, 1 shard, API ×1\)\./)
  assert.match(md, /cluster of 3, 6 shards, API ×2: 1 \/ 3 \/ 2 shards per master/)
  assert.equal(md.split('\n').filter((l) => l.startsWith('| one Redis') || l.startsWith('| cluster')).length, 4)
})
