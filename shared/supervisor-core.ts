/**
 * The supervisor core, written once for tally's two supervisors: npm start's launcher (launcher/supervisor.ts:
 * the API and the consumers as child processes) and the API's node:cluster primary (server/api-workers.ts: the
 * API workers). It keeps one child running per slot: a child that exits unexpectedly is started again after a
 * back-off, one that cannot start for its configuration is given up on (every restart would fail the same
 * way), and a stop asks every running child to stop gracefully and kills the ones still running after the
 * grace period. How a child is started, asked to stop and killed is the caller's (spawn or cluster.fork).
 */
import { backoffMs } from './backoff.js'
import { EXIT_CONFIG } from './config.js'

// A child that keeps dying waits 500 ms before its restart, doubled per death, at most 10 s.
const RESTART_BACKOFF = { baseMs: 500, maxMs: 10_000 }
// A child that lived this long was healthy: its next death restarts it at once, without delay growth.
const STABLE_AFTER_MS = 30_000
// Each child exits 1 after its own grace period; this margin is for one that hangs past it.
const KILL_MARGIN_MS = 2000

export interface ChildExit { code: number | null; signal: NodeJS.Signals | null }

export interface SupervisorOptions<Child> {
  /** How many children run at once: slots 0 … slots-1. */
  slots: number
  /** The children's own grace period (SHUTDOWN_GRACE_MS): a stop kills those still running KILL_MARGIN_MS after it. */
  graceMs: number
  /** Starts the child of `slot`, `restarts` restarts of that slot after its first start: cluster.fork or spawn. */
  start(slot: number, restarts: number): Child
  onExit(child: Child, listener: (exit: ChildExit) => void): void
  isRunning(child: Child): boolean
  /** A graceful stop: SIGTERM, or a message over IPC. */
  askToStop(child: Child, reason: string): void
  /** At once: SIGKILL (to the child's whole process group where it has one). */
  kill(child: Child): void
  /** An unexpected exit, restarted after `restartInMs`: the caller's log line. */
  onRestart(child: Child, slot: number, exit: ChildExit, restartInMs: number): void
  /** An exit with EXIT_CONFIG: not restarted; the caller stops (a stop() of its own). */
  onGiveUp(child: Child, slot: number, exit: ChildExit): void
}

export interface Supervisor<Child> {
  /** Starts every slot's child. */
  start(): void
  running(): Child[]
  /** Restarts no more, asks every running child to stop, kills those that outlast the grace period; their exits. */
  stop(reason: string): Promise<ChildExit[]>
  /** Kills every running child at once (a second signal). */
  kill(): void
}

interface Slot<Child> { child?: Child; restarts: number; quickExits: number }

/** The wait before restarting a child that lived `livedMs`, its slot having had `quickExits` quick deaths before. */
export function restartDelayMs(livedMs: number, quickExits: number): number {
  return livedMs > STABLE_AFTER_MS ? 0 : backoffMs(quickExits, RESTART_BACKOFF)
}

export function superviseChildren<Child>(opts: SupervisorOptions<Child>): Supervisor<Child> {
  const slots: Slot<Child>[] = Array.from({ length: opts.slots }, () => ({ restarts: 0, quickExits: 0 }))
  const restartTimers = new Set<NodeJS.Timeout>()
  let isStopping = false

  const running = () => slots.flatMap((s) => (s.child !== undefined && opts.isRunning(s.child) ? [s.child] : []))

  const launch = (slot: Slot<Child>, index: number): void => {
    const startedAt = Date.now()
    const child = opts.start(index, slot.restarts)
    slot.child = child
    opts.onExit(child, (exit) => {
      if (isStopping) return
      if (exit.code === EXIT_CONFIG) {
        opts.onGiveUp(child, index, exit)
        return
      }
      const restartInMs = restartDelayMs(Date.now() - startedAt, slot.quickExits)
      slot.quickExits = restartInMs === 0 ? 0 : slot.quickExits + 1
      opts.onRestart(child, index, exit, restartInMs)
      slot.restarts += 1
      const timer = setTimeout(() => {
        restartTimers.delete(timer)
        if (!isStopping) launch(slot, index)
      }, restartInMs)
      restartTimers.add(timer)
    })
  }

  return {
    start: () => slots.forEach(launch),
    running,
    async stop(reason) {
      isStopping = true
      for (const timer of restartTimers) clearTimeout(timer)
      const children = running()
      const exits = children.map((c) => new Promise<ChildExit>((resolve) => opts.onExit(c, resolve)))
      for (const c of children) opts.askToStop(c, reason)
      const killer = setTimeout(() => { for (const c of children) if (opts.isRunning(c)) opts.kill(c) }, opts.graceMs + KILL_MARGIN_MS)
      const result = await Promise.all(exits)
      clearTimeout(killer)
      return result
    },
    kill: () => { for (const c of running()) opts.kill(c) },
  }
}
