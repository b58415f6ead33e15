import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

const ROOT = new URL('..', import.meta.url).pathname

export interface Running { child: ChildProcess; stop(): Promise<void> }

// Every child still running, so an interrupted bench can end them (they are not killed with it when the
// signal reaches the bench alone, not its terminal's whole process group).
const live = new Set<ChildProcess>()

/** SIGKILL every child startProcess started that is still running: synchronous, for an exit path. */
export function killStarted(): void {
  for (const child of live) child.kill('SIGKILL')
  live.clear()
}

/** Node flags that make a child write a CPU profile into `dir` when it exits; none without a dir. */
export const profileArgs = (dir: string | undefined): string[] => (dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [])

/** Start `entry` (a .ts file run through tsx) and wait until `readyUrl` answers 200. */
export async function startProcess(entry: string, env: Record<string, string | undefined>, readyUrl?: string, args: string[] = [],
  nodeArgs: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
  live.add(child)
  child.once('exit', () => live.delete(child))
  const running: Running = {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
  if (readyUrl) {
    const deadline = Date.now() + 30_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode} before it was ready`)
      const ok = await fetch(readyUrl).then((r) => r.ok, () => false)
      if (ok) break
      if (Date.now() > deadline) {
        await running.stop()
        throw new Error(`${entry} not ready at ${readyUrl} after 30 s`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return running
}
