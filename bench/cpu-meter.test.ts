import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpuFigures, snapshot, startCpuMeter, waitUntilIdle, type Watched } from './cpu-meter.js'
import type { ProcStat } from './proc-cpu.js'

const proc = (pid: number, ppid: number, cpuTicks: number, startTicks = 1): [number, ProcStat] =>
  [pid, { pid, comm: 'node', ppid, cpuTicks, startTicks }]
const api: Watched = { group: 'api', name: 'api', pid: 10, withDescendants: true }
const consumer: Watched = { group: 'consumers', name: 'consumer-1', pid: 20 }
const opts = { units: 10_000, unit: 'request' as const, wallSeconds: 2, ticksPerSecond: 100 }

test('an API with cluster workers is one group: the primary and every descendant, each also listed', () => {
  const before = snapshot(new Map([proc(10, 1, 100), proc(11, 10, 50), proc(12, 11, 0), proc(99, 1, 5)]), [api])
  const after = snapshot(new Map([proc(10, 1, 110), proc(11, 10, 150), proc(12, 11, 40), proc(99, 1, 500)]), [api])
  const { groups } = cpuFigures(before, after, opts)
  assert.deepEqual(groups.api?.processes.map((p) => [p.name, p.cpuSeconds, p.usPerUnit]), [
    ['api', 0.1, 10], ['api/node:11', 1, 100], ['api/node:12', 0.4, 40],
  ])
  assert.equal(groups.api?.cpuSeconds, 1.5)
  assert.equal(groups.api?.usPerUnit, 150, '1.5 s of CPU over 10,000 requests')
  assert.equal(groups.api?.coreShare, 0.75, '1.5 s of CPU in 2 s')
  assert.equal(groups.consumers, undefined, 'no consumer watched: the group is absent, not 0')
})

test('a process that appears during the run counts from 0, one that is gone is marked and adds nothing', () => {
  const before = snapshot(new Map([proc(10, 1, 100), proc(30, 1, 70)]), [api, { group: 'postgres', name: 'backend/30', pid: 30 }])
  const after = snapshot(new Map([proc(10, 1, 100), proc(31, 1, 20)]), [api, { group: 'postgres', name: 'backend/31', pid: 31 }])
  const pg = cpuFigures(before, after, opts).groups.postgres!
  assert.deepEqual(pg.processes.map((p) => [p.name, p.cpuSeconds, p.note]), [['backend/30', 0, 'exited'], ['backend/31', 0.2, 'started']])
  assert.equal(pg.usPerUnit, 20)
})

test('a pid reused by another process during the run is a new process, never a negative delta', () => {
  const before = snapshot(new Map([proc(20, 1, 900, 5)]), [consumer])
  const after = snapshot(new Map([proc(20, 1, 30, 77)]), [consumer])
  const processes = cpuFigures(before, after, opts).groups.consumers!.processes
  assert.deepEqual(processes.map((p) => [p.cpuSeconds, p.note]), [[0.3, 'started'], [0, 'exited']])
})

test('no units served gives no per-unit figure rather than infinity', () => {
  const s = snapshot(new Map([proc(20, 1, 10)]), [consumer])
  assert.equal(cpuFigures(s, s, { ...opts, units: 0 }).groups.consumers?.usPerUnit, null)
})

test('a process watched twice (say, as a root and as a descendant) is counted once', () => {
  const table = new Map([proc(10, 1, 100), proc(11, 10, 100)])
  assert.equal(snapshot(table, [api, { group: 'api', name: 'again', pid: 11 }]).size, 2)
})

test('the meter sees this process spend CPU, and a sleeping one settles as idle', async () => {
  const meter = await startCpuMeter({ fixed: [{ group: 'loadgen', name: 'bench', pid: process.pid }] })
  // Spin until getrusage says 0.3 s of CPU were spent, not for a wall time: others' load on the box
  // would take the core away from a timed loop.
  const start = process.cpuUsage()
  while (((u) => u.user + u.system)(process.cpuUsage(start)) < 300_000);
  const figures = await meter.stop(1000)
  assert.ok(figures.groups.loadgen!.cpuSeconds >= 0.2, `spent ${figures.groups.loadgen!.cpuSeconds} s`)
  assert.ok(figures.groups.loadgen!.usPerUnit! >= 200)
  assert.equal(await waitUntilIdle([{ group: 'loadgen', name: 'bench', pid: process.pid }], { windowMs: 200, timeoutMs: 2000 }), true)
})
