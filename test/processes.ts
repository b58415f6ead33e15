/**
 * The tests' child processes, started one way: output captured for the assertions and for failure
 * messages, killed when the test ends (the whole process group when it has one of its own), and exits
 * awaited with a bound, so a process that hangs fails its test with what it said instead of stalling it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { TestContext } from 'node:test'
import { TimeoutError, withTimeout } from '../shared/timeout.js'

export const ROOT = new URL('..', import.meta.url).pathname

export interface Started {
  /** What was started, for messages. */
  name: string
  child: ChildProcess
  /** stdout and stderr together, in the order they arrived. */
  output(): string
  stdout(): string
  stderr(): string
  /**
   * The exit code (null when a signal ended it), once the process has exited and its output has been
   * read to the end: 'exit' alone can come before the last lines are read.
   */
  exited: Promise<number | null>
}

export interface StartOptions {
  /** The child's whole environment: nothing of process.env is added, so a test may start from a clean base. */
  env: NodeJS.ProcessEnv
  /**
   * A process group of its own, as a shell gives a foreground job: the test can signal the group, and the
   * group is what is killed when the test ends (a group leader's children may outlive it).
   */
  detached?: boolean
  /** An IPC channel, as npm start's supervisor opens one to each child. */
  ipc?: boolean
}

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null

/** `command` with `args` in the repository's root, killed with SIGKILL (its group too, if detached) when the test ends. */
export function startProcess(t: TestContext, command: string, args: string[], opts: StartOptions): Started {
  const child = spawn(command, args, {
    cwd: ROOT, env: opts.env, detached: opts.detached ?? false, stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? ['ipc' as const] : [])],
  })
  let output = ''
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => { output += chunk; stdout += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk; stderr += chunk })
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  const name = [command === process.execPath ? 'node' : command, ...args].join(' ')
  t.after(async () => {
    const wasRunning = isRunning(child)
    try {
      if (opts.detached) process.kill(-child.pid!, 'SIGKILL')
      else if (wasRunning) child.kill('SIGKILL')
    } catch { /* gone already */ }
    // The process itself, not its output: a detached one's children may hold the pipes until the test's own clean-up ends them.
    if (wasRunning) await withTimeout(exit, 10_000, `${name} to die of SIGKILL`)
  })
  return { name, child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited }
}

/** `entry` (a .ts file of the repository) run by node through tsx, as the npm scripts run it. */
export function startNode(t: TestContext, entry: string, opts: StartOptions & { args?: string[] }): Started {
  return startProcess(t, process.execPath, ['--import', 'tsx', entry, ...(opts.args ?? [])], opts)
}

/** The exit code (null: a signal ended it), or a failure quoting the process's output if it has not exited within `timeoutMs`. */
export async function exitCodeOf(p: Started, timeoutMs = 15_000): Promise<number | null> {
  try {
    return await withTimeout(p.exited, timeoutMs, `${p.name} to exit`)
  } catch (err) {
    if (err instanceof TimeoutError) throw new Error(`${err.message}; its output:\n${p.output()}`)
    throw err
  }
}

/** Send `signal` and wait (bounded) for the exit: the code, or null when the signal ended it. */
export async function stopProcess(p: Started, signal: NodeJS.Signals, timeoutMs = 15_000): Promise<number | null> {
  if (isRunning(p.child)) p.child.kill(signal)
  return exitCodeOf(p, timeoutMs)
}
