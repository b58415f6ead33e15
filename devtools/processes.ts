/**
 * Child processes, started one way for npm start's local servers, the tests and the bench: output kept for
 * assertions and failure messages (or passed straight through), and exits awaited with a bound, so a process that
 * hangs fails with what it said instead of stalling whoever waits for it. When a child is killed at the latest is
 * its starter's policy: the end of a test (test/processes.ts), the bench's exit (bench/processes.ts).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { TimeoutError, withTimeout } from '../shared/timeout.js'

export const ROOT = new URL('..', import.meta.url).pathname

export interface Started {
  /** What was started, for messages. */
  name: string
  child: ChildProcess
  /** stdout and stderr together, in the order they arrived (only what `output: 'keep'` kept). */
  output(): string
  stdout(): string
  stderr(): string
  /** Why it could not be started at all (no such executable), if that is what happened. */
  spawnError(): Error | undefined
  /**
   * The exit code (null when a signal ended it), once the process has exited and its output has been
   * read to the end: 'exit' alone can come before the last lines are read.
   */
  exited: Promise<number | null>
  /** SIGKILL, to its whole group if it has one of its own, and wait (bounded) until it is gone. */
  kill(): Promise<void>
}

export interface StartOptions {
  /** The child's whole environment: nothing of ours is added, so a test may start from a clean base. Omitted: ours. */
  env?: NodeJS.ProcessEnv
  /** Defaults to the repository's root. */
  cwd?: string
  /**
   * A process group of its own, as a shell gives a foreground job: a terminal's Ctrl-C to our group does not
   * reach it, its starter can signal the group, and kill() kills the group (a leader's children may outlive it).
   */
  detached?: boolean
  /** An IPC channel, as npm start's supervisor opens one to each child. */
  ipc?: boolean
  /**
   * 'keep' (the default): stdout and stderr kept for output(). 'stderr': stdout dropped and stderr straight to ours,
   * nothing kept (the bench's children: their errors show, and nothing read costs the bench CPU). 'inherit': all
   * three are ours (node --test under npm test). 'ignore': nothing at all (a server that logs to a file).
   */
  output?: 'keep' | 'stderr' | 'inherit' | 'ignore'
  /** Keep only the last this many characters of output: the tail is what explains a failure. */
  keepChars?: number
}

const STDIO: Record<NonNullable<StartOptions['output']>, StdioOptions> = {
  keep: ['ignore', 'pipe', 'pipe'],
  stderr: ['ignore', 'ignore', 'inherit'],
  inherit: ['inherit', 'inherit', 'inherit'],
  ignore: ['ignore', 'ignore', 'ignore'],
}

export const isRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null

/** `command` with `args`, in the repository's root unless `cwd` says otherwise. */
export function startProcess(command: string, args: string[], opts: StartOptions = {}): Started {
  const stdio = [...STDIO[opts.output ?? 'keep'] as unknown[], ...(opts.ipc ? ['ipc'] : [])] as StdioOptions
  const child = spawn(command, args, { cwd: opts.cwd ?? ROOT, env: opts.env, detached: opts.detached ?? false, stdio })
  const name = [command === process.execPath ? 'node' : command, ...args].join(' ')
  const keep = (text: string, chunk: string) => (opts.keepChars ? (text + chunk).slice(-opts.keepChars) : text + chunk)
  let output = ''
  let stdout = ''
  let stderr = ''
  let spawnError: Error | undefined
  child.stdout?.on('data', (chunk: Buffer) => { output = keep(output, String(chunk)); stdout = keep(stdout, String(chunk)) })
  child.stderr?.on('data', (chunk: Buffer) => { output = keep(output, String(chunk)); stderr = keep(stderr, String(chunk)) })
  // A spawn that failed (no pid) or a signal that could not be sent; after a failed spawn, 'close' still follows.
  child.on('error', (err) => { if (child.pid === undefined) spawnError ??= err })
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code: number | null) => resolve(code)))
  return {
    name, child, exited,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    spawnError: () => spawnError,
    async kill() {
      const wasRunning = isRunning(child)
      try {
        if (opts.detached) process.kill(-child.pid!, 'SIGKILL')
        else if (wasRunning) child.kill('SIGKILL')
      } catch { /* gone already */ }
      // The process itself, not its output: a detached one's children may hold the pipes until they are ended too.
      if (wasRunning) await withTimeout(exit, 10_000, `${name} to die of SIGKILL`)
    },
  }
}

/** `entry` (a .ts file of the repository) run by node through tsx, as the npm scripts run it. */
export function startNode(entry: string, opts: StartOptions & { args?: string[]; nodeArgs?: string[] } = {}): Started {
  return startProcess(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', entry, ...(opts.args ?? [])], opts)
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

/** SIGTERM, then SIGKILL if it still runs `graceMs` later: resolves once it has exited, however it ended. */
export async function terminate(p: Started, graceMs: number): Promise<void> {
  if (!isRunning(p.child)) return
  const killer = setTimeout(() => p.child.kill('SIGKILL'), graceMs)
  p.child.kill('SIGTERM')
  await p.exited
  clearTimeout(killer)
}

export interface RunResult { code: number; output: string }

export interface RunOptions {
  /** Defaults to '/': under runuser the postgres user may not be allowed into the caller's directory. */
  cwd?: string
  /**
   * false (default): the command gets a process group of its own, so a terminal's Ctrl-C or `timeout`'s
   * signal to our group cannot cut a pg_ctl stop or start off halfway: the launcher decides when to stop, and
   * an interrupted pg_ctl would leave a server running that nobody knows about. true: the command shares our
   * group and a Ctrl-C stops it too (apt-get, which the user may want to abort).
   */
  interruptible?: boolean
}

/** Runs a command to completion and keeps its stdout + stderr together, so a failure can quote what the tool said. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const p = startProcess(cmd, args, { cwd: opts.cwd ?? '/', detached: !opts.interruptible, keepChars: 16_384 })
  const code = await p.exited
  const failed = p.spawnError()
  return failed ? { code: 127, output: `${cmd}: ${failed.message}` } : { code: code ?? 1, output: p.output() }
}

/** Like run(), but throws with the command's own words when it exits non-zero. */
export async function runOrThrow(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const { code, output } = await run(cmd, args, opts)
  if (code !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited ${code}: ${lastLines(output, 15)}`)
  return output
}

export function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join('\n')
}
