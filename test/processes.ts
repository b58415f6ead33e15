/**
 * The tests' child processes: devtools/processes.ts's one way of starting them (output captured for the
 * assertions and failure messages, exits awaited with a bound), and killed when the test ends (the whole process
 * group when it has one of its own), so no test leaves a process behind.
 */
import type { TestContext } from 'node:test'
import * as processes from '../devtools/processes.js'

export { exitCodeOf, stopProcess, type Started } from '../devtools/processes.js'

export interface StartOptions {
  /** The child's whole environment: nothing of process.env is added, so a test may start from a clean base. */
  env: NodeJS.ProcessEnv
  /** A process group of its own, as a shell gives a foreground job: the test can signal the group, and it is killed whole. */
  detached?: boolean
  /** An IPC channel, as npm start's supervisor opens one to each child. */
  ipc?: boolean
  args?: string[]
}

/** `entry` (a .ts file of the repository) run by node through tsx, as the npm scripts run it; killed when the test ends. */
export function startNode(t: TestContext, entry: string, opts: StartOptions): processes.Started {
  const started = processes.startNode(entry, opts)
  t.after(() => started.kill())
  return started
}
