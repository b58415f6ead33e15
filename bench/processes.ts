/**
 * The bench's child processes (API, consumers, the bare Fastify server): devtools/processes.ts's one way of
 * starting them, stderr to the bench's own (its output read by nobody costs no CPU beside the figures), ready
 * once a URL answers, and every one still running SIGKILLed when the bench exits however it exits.
 */
import type { ChildProcess } from 'node:child_process'
import { isRunning, startNode, terminate, type Started } from '../devtools/processes.js'
import { waitFor } from '../devtools/wait.js'

export interface Running { child: ChildProcess; stop(): Promise<void> }

/** A child told to stop gets this long for its own graceful shutdown before it is killed. */
const STOP_GRACE_MS = 15_000
const READY_TIMEOUT_MS = 30_000

// Every child still running, so an interrupted bench can end them (they are not killed with it when the
// signal reaches the bench alone, not its terminal's whole process group).
const live = new Set<Started>()

/** SIGKILL every child startProcess started that is still running: synchronous, for an exit path. */
export function killStarted(): void {
  for (const started of live) started.child.kill('SIGKILL')
  live.clear()
}

/** Node flags that make a child write a CPU profile into `dir` when it exits; none without a dir. */
export const profileArgs = (dir: string | undefined): string[] => (dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [])

/** Start `entry` (a .ts file run through tsx) and wait until `readyUrl` answers 200. */
export async function startProcess(entry: string, env: Record<string, string | undefined>, readyUrl?: string, args: string[] = [],
  nodeArgs: string[] = []): Promise<Running> {
  const started = startNode(entry, { env: { ...process.env, ...env }, args, nodeArgs, output: 'stderr' })
  live.add(started)
  started.child.once('exit', () => live.delete(started))
  const running: Running = { child: started.child, stop: () => terminate(started, STOP_GRACE_MS) }
  if (readyUrl) {
    try {
      await waitFor(() => fetch(readyUrl).then((r) => r.ok, () => false), {
        timeoutMs: READY_TIMEOUT_MS, intervalMs: 100, what: `${entry} to be ready at ${readyUrl}`,
        hopeless: () => (isRunning(started.child) ? undefined : `it exited (${started.child.exitCode ?? started.child.signalCode})`),
      })
    } catch (err) {
      await running.stop()
      throw err
    }
  }
  return running
}
