/**
 * CPU µs per request (or per vote applied) of every process a scenario involves: a snapshot of
 * utime + stime before the load and one after, the difference over the units served. Unlike req/s,
 * which moves ±30% on a shared 2-core box, CPU per request barely does (STYLE §16).
 */
import { clockTicksPerSecond, descendantsOf, readProcessTable, type ProcStat } from './proc-cpu.js'

export const CPU_GROUPS = ['api', 'consumers', 'redis', 'postgres', 'loadgen'] as const
export type CpuGroup = (typeof CPU_GROUPS)[number]

/** A process to meter. With descendants, every process below it counts too (an API that forks cluster workers). */
export interface Watched { group: CpuGroup; name: string; pid: number; withDescendants?: boolean }

export interface CpuSources {
  fixed: Watched[]
  /** Looked up at the start and again at the stop, and the union metered: PostgreSQL backends come and go. */
  dynamic?: () => Promise<Watched[]>
}

export interface ProcessCpu {
  name: string
  pid: number
  cpuSeconds: number
  usPerUnit: number | null
  /** CPU seconds over wall seconds: 1 is one core kept busy the whole time. */
  coreShare: number
  /** started: not there at the start, counted from 0. exited: gone by the stop, its CPU since the start unknown (0 here). */
  note?: 'started' | 'exited'
}
export interface GroupCpu { cpuSeconds: number; usPerUnit: number | null; coreShare: number; processes: ProcessCpu[] }
export interface CpuFigures {
  unit: 'request' | 'vote'
  units: number
  wallSeconds: number
  clockTicksPerSecond: number
  /** A group is absent when none of its processes could be seen (not started in this scenario, or not on this machine). */
  groups: Partial<Record<CpuGroup, GroupCpu>>
}

interface Reading { group: CpuGroup; name: string; pid: number; cpuTicks: number }
/** Keyed by pid and start time, so a pid reused during the run is a different process, not a negative delta. */
export type Snapshot = Map<string, Reading>

/** The watched processes (and their descendants) as found in one table of processes. */
export function snapshot(table: ReadonlyMap<number, ProcStat>, watched: readonly Watched[]): Snapshot {
  const out: Snapshot = new Map()
  const seen = new Set<number>()
  const add = (group: CpuGroup, pid: number, name: (stat: ProcStat) => string) => {
    const stat = table.get(pid)
    if (!stat || seen.has(pid)) return
    seen.add(pid)
    out.set(`${pid}@${stat.startTicks}`, { group, name: name(stat), pid, cpuTicks: stat.cpuTicks })
  }
  for (const w of watched) {
    add(w.group, w.pid, () => w.name)
    // Named with their comm: a cluster worker (node) and tsx's esbuild service are both children of the API.
    if (w.withDescendants) {
      for (const pid of descendantsOf(table, w.pid)) add(w.group, pid, (stat) => `${w.name}/${stat.comm}:${pid}`)
    }
  }
  return out
}

const round1 = (x: number) => Math.round(x * 10) / 10
const round3 = (x: number) => Math.round(x * 1000) / 1000

/** Per group and per process: CPU seconds between the snapshots, µs per unit served, share of one core. */
export function cpuFigures(
  before: Snapshot, after: Snapshot, o: { units: number; unit: 'request' | 'vote'; wallSeconds: number; ticksPerSecond: number }
): CpuFigures {
  const perUnit = (seconds: number) => (o.units > 0 ? round1((seconds * 1e6) / o.units) : null)
  const share = (seconds: number) => (o.wallSeconds > 0 ? round3(seconds / o.wallSeconds) : 0)
  const processes = new Map<CpuGroup, ProcessCpu[]>()
  const push = (group: CpuGroup, p: ProcessCpu) => processes.set(group, [...(processes.get(group) ?? []), p])
  for (const [key, now] of after) {
    const then = before.get(key)
    const seconds = (now.cpuTicks - (then?.cpuTicks ?? 0)) / o.ticksPerSecond
    push(now.group, {
      name: now.name, pid: now.pid, cpuSeconds: round3(seconds), usPerUnit: perUnit(seconds), coreShare: share(seconds),
      ...(then ? {} : { note: 'started' as const }),
    })
  }
  for (const [key, then] of before) {
    if (!after.has(key)) push(then.group, { name: then.name, pid: then.pid, cpuSeconds: 0, usPerUnit: null, coreShare: 0, note: 'exited' })
  }
  const groups: CpuFigures['groups'] = {}
  for (const group of CPU_GROUPS) {
    const list = processes.get(group)
    if (!list) continue
    const seconds = list.reduce((n, p) => n + p.cpuSeconds, 0)
    groups[group] = {
      cpuSeconds: round3(seconds), usPerUnit: perUnit(seconds), coreShare: share(seconds),
      processes: list.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true })),
    }
  }
  return { unit: o.unit, units: o.units, wallSeconds: round3(o.wallSeconds), clockTicksPerSecond: o.ticksPerSecond, groups }
}

export interface CpuMeter { stop(units: number, unit?: 'request' | 'vote'): Promise<CpuFigures> }

/**
 * Snapshot now; `stop` snapshots again and divides by the units served in between. The dynamic
 * sources are looked up before /proc is read, so both readings sit as close to the load as they can.
 */
export async function startCpuMeter(sources: CpuSources): Promise<CpuMeter> {
  const early = (await sources.dynamic?.()) ?? []
  const before = snapshot(readProcessTable(), [...sources.fixed, ...early])
  const started = performance.now()
  return {
    async stop(units, unit = 'request') {
      const late = (await sources.dynamic?.()) ?? []
      const after = snapshot(readProcessTable(), [...sources.fixed, ...early, ...late])
      const wallSeconds = (performance.now() - started) / 1000
      return cpuFigures(before, after, { units, unit, wallSeconds, ticksPerSecond: clockTicksPerSecond() })
    },
  }
}

/**
 * Wait until the watched processes, together, use under `idleShare` of one core over a window:
 * a just-started Node process (tsx compiling, cluster workers still loading) would otherwise have
 * its start-up counted as the load's cost. Answers false if they never settle within the timeout.
 */
export async function waitUntilIdle(
  watched: readonly Watched[], opts: { idleShare?: number; windowMs?: number; timeoutMs?: number } = {}
): Promise<boolean> {
  const { idleShare = 0.1, windowMs = 300, timeoutMs = 10_000 } = opts
  const ticks = () => [...snapshot(readProcessTable(), watched).values()].reduce((n, r) => n + r.cpuTicks, 0)
  const deadline = Date.now() + timeoutMs
  let last = ticks()
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, windowMs))
    const now = ticks()
    if ((now - last) / clockTicksPerSecond() < idleShare * (windowMs / 1000)) return true
    if (Date.now() > deadline) return false
    last = now
  }
}
