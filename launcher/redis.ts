// A redis-server of our own on a loopback port, its files under <dataDir>/redis: npm start's (AOF), CI's (through
// npm start's bring-up) or a fault test's throwaway one (test/throwaway.ts), started the same way.
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { lastLines, startProcess, type Started } from '../devtools/processes.js'
import { withTimeout } from '../shared/timeout.js'
import { exchange, probeRedis, waitForProbe, type Endpoint } from './probe.js'

export interface StartRedisOptions {
  redisServer: string
  dataDir: string
  at: Endpoint
  log: (msg: string) => void
  /**
   * 'everysec' (the default, as in production): the AOF is fsynced every second, so a crash may lose the last
   * one. 'always': fsynced on every write, so a SIGKILL loses nothing acknowledged (the chaos suite). 'off':
   * nothing on disk at all.
   */
  appendfsync?: 'everysec' | 'always' | 'off'
}

export interface LocalRedis {
  /** The redis-server process: a fault test may SIGKILL it or SIGSTOP it. */
  process: Started
  /** Shut it down (idempotent: every caller awaits the one shutdown). */
  stop(): Promise<void>
}

const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000
const SHUTDOWN_NOSAVE = Buffer.from('*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n')

/**
 * Starts redis-server bound to the URL's loopback host and port. The AOF is the only persistence, so RDB
 * snapshots are off. A process group of its own (detached): a Ctrl-C meant for npm start reaches the app first,
 * and stop() then shuts Redis down after the app has let go of it. Our child rather than a daemon, so its exit is
 * ours to see and to reap (a container's init may reap nothing); it logs to a file, so it outlives us if need be.
 */
export async function startRedis({ redisServer, dataDir, at, log, appendfsync = 'everysec' }: StartRedisOptions): Promise<LocalRedis> {
  const dir = join(dataDir, 'redis')
  const logFile = join(dir, 'redis.log')
  const pidFile = join(dir, 'redis.pid')
  await mkdir(dir, { recursive: true })
  log(`starting Redis on ${at.host}:${at.port} (data ${dir}, log ${logFile})`)
  // '-::1': bind IPv6 loopback when the machine has it, skip it quietly when not.
  const bind = at.host === 'localhost' ? ['127.0.0.1', '-::1'] : [at.host]
  const persistence = appendfsync === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', appendfsync]
  const server = startProcess(redisServer, ['--bind', ...bind, '--port', String(at.port), '--dir', dir, ...persistence,
    '--save', '', '--pidfile', pidFile, '--logfile', logFile], { detached: true, output: 'ignore' })
  // A failed bind only shows in the log: it answers, or it exits, or the wait runs out.
  const answers = await Promise.race([waitForProbe(() => probeRedis(at), 'answers', READY_TIMEOUT_MS), server.exited.then(() => false)])
  if (!answers) {
    await server.kill()
    const serverLog = await readFile(logFile, 'utf8').catch(() => server.spawnError()?.message ?? '')
    throw new Error(`Redis did not start on ${at.host}:${at.port}: ${lastLines(serverLog, 10)}`)
  }

  const where = `Redis on ${at.host}:${at.port}`
  const exitedWithin = (ms: number) => withTimeout(server.exited, ms, `${where} to exit`).then(() => true, () => false)
  const stop = async () => {
    log(`stopping ${where}`)
    // NOSAVE skips the RDB dump only: the AOF is still flushed, so nothing acknowledged is lost.
    await exchange(at, SHUTDOWN_NOSAVE)
    if (!(await exitedWithin(STOP_TIMEOUT_MS))) {
      server.child.kill('SIGTERM')   // SHUTDOWN refused (e.g. a stuck AOF rewrite): ask the process
      if (!(await exitedWithin(STOP_TIMEOUT_MS))) throw new Error(`${where} did not stop (pid ${server.child.pid})`)
    }
    log(`${where} stopped`)
  }
  let stopping: Promise<void> | undefined
  return { process: server, stop: () => (stopping ??= stop()) }
}
