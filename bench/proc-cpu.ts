/**
 * CPU time of processes, read from /proc (STYLE §16): utime + stime, fields 14 and 15 of
 * /proc/PID/stat, in clock ticks. `parseStatLine` and `descendantsOf` are pure; the readers
 * around them are thin, so the parsing is tested without any process to look at.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export interface ProcStat {
  pid: number
  /** The executable's name as the kernel keeps it (≤ 15 bytes); may hold spaces and parentheses. */
  comm: string
  ppid: number
  /** utime + stime: CPU spent by the process itself (all its threads), not by its waited-for children. */
  cpuTicks: number
  /** Field 22, ticks after boot: with the pid it names one process, so a reused pid is not taken for the old one. */
  startTicks: number
}

/**
 * One /proc/PID/stat line. The comm field is in parentheses and may itself hold spaces and ')'
 * (a thread can name itself "a) b"), so fields are counted from the last ')', never split from the start.
 */
export function parseStatLine(line: string): ProcStat {
  const open = line.indexOf('(')
  const close = line.lastIndexOf(')')
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${JSON.stringify(line.slice(0, 80))}`)
  // After ')': field 3 (state) is rest[0], so field n is rest[n - 3].
  const rest = line.slice(close + 1).trim().split(/\s+/)
  const field = (n: number) => {
    const text = rest[n - 3]
    if (text === undefined || !/^-?\d+$/.test(text)) throw new Error(`/proc stat field ${n} missing or not a number in ${JSON.stringify(line.slice(0, 80))}`)
    return Number(text)
  }
  const pid = Number(line.slice(0, open).trim())
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`/proc stat line has no pid: ${JSON.stringify(line.slice(0, 80))}`)
  return { pid, comm: line.slice(open + 1, close), ppid: field(4), cpuTicks: field(14) + field(15), startTicks: field(22) }
}

/** Every process below `root` (children, their children …) in a table of processes; `root` not included. */
export function descendantsOf(table: ReadonlyMap<number, Pick<ProcStat, 'ppid'>>, root: number): number[] {
  const children = new Map<number, number[]>()
  for (const [pid, { ppid }] of table) {
    const siblings = children.get(ppid)
    if (siblings) siblings.push(pid)
    else children.set(ppid, [pid])
  }
  // A set, so a cycle in a torn table (a pid reused while /proc was read) cannot loop forever.
  const found = new Set<number>()
  const queue = [root]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (found.has(child) || child === root) continue
      found.add(child)
      queue.push(child)
    }
  }
  return [...found].sort((a, b) => a - b)
}

let ticksPerSecond: number | undefined

/**
 * USER_HZ, read once with `getconf CLK_TCK`. Linux has reported 100 on every common platform for
 * decades, so 100 is assumed when getconf is missing.
 */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
      ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/** One process's stat, or undefined when it is gone (or /proc is not there). */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseStatLine(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * Every process on the machine, pid → stat, in one pass. Children are found from this table's
 * ppid column: /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN, which not every kernel has.
 * A process that exits while the table is read is simply absent.
 */
export function readProcessTable(): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>()
  let names: string[] = []
  try {
    names = readdirSync('/proc')
  } catch {
    return table
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue
    const stat = readProcStat(Number(name))
    if (stat) table.set(stat.pid, stat)
  }
  return table
}
