// Child processes and executables for the launcher's bring-up of local servers (npm start on a bare machine).
import { spawn } from 'node:child_process'
import { access, constants, readdir } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

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
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? '/', stdio: ['ignore', 'pipe', 'pipe'], detached: !opts.interruptible })
    let output = ''
    const keep = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-16_384) }   // the tail is what explains
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.on('error', (err) => resolve({ code: 127, output: `${cmd}: ${err.message}` }))
    child.on('close', (code) => resolve({ code: code ?? 1, output }))
  })
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

export const isRoot = (): boolean => process.getuid?.() === 0

async function isExecutable(path: string): Promise<boolean> {
  try { await access(path, constants.X_OK); return true } catch { return false }
}

const STANDARD_DIRS = ['/usr/local/bin', '/usr/bin', '/usr/sbin', '/sbin', '/opt/homebrew/bin']

/**
 * Finds an executable in `dirs` first, then on PATH. The caller passes PATH in: this module reads no environment.
 * Debian keeps sbin directories off a non-root PATH, so they are searched as well.
 */
export async function findExecutable(name: string, searchPath = '', dirs: string[] = []): Promise<string | undefined> {
  const onPath = searchPath.split(delimiter).filter(Boolean)
  for (const dir of [...dirs, ...onPath, ...STANDARD_DIRS]) {
    const candidate = join(dir, name)
    if (await isExecutable(candidate)) return candidate
  }
  return undefined
}

/** Debian installs each PostgreSQL major in /usr/lib/postgresql/<major>/bin, off PATH; newest first. */
export async function debianPostgresBinDirs(): Promise<string[]> {
  const root = '/usr/lib/postgresql'
  const majors = await readdir(root).catch(() => [] as string[])
  return majors.filter((m) => /^\d+$/.test(m)).sort((a, b) => Number(b) - Number(a)).map((m) => join(root, m, 'bin'))
}
