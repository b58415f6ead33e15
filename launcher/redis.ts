// A Redis of npm start's own: daemonized redis-server with its AOF under <dataDir>/redis.
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { lastLines, runOrThrow } from './exec.js'
import { exchange, probeRedis, waitForProbe, type Endpoint } from './probe.js'

export interface StartRedisOptions {
  redisServer: string
  dataDir: string
  at: Endpoint
  log: (msg: string) => void
}

const READY_TIMEOUT_MS = 30_000
const SHUTDOWN_NOSAVE = Buffer.from('*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n')

/**
 * Starts redis-server bound to the URL's loopback host and port. The AOF (fsync every second) is the only
 * persistence, so RDB snapshots are off. --daemonize detaches it from our process group: a Ctrl-C meant for
 * npm start reaches the server first, and stop() then shuts Redis down after the app has let go of it.
 */
export async function startRedis({ redisServer, dataDir, at, log }: StartRedisOptions): Promise<{ stop(): Promise<void> }> {
  const dir = join(dataDir, 'redis')
  const logFile = join(dir, 'redis.log')
  const pidFile = join(dir, 'redis.pid')
  await mkdir(dir, { recursive: true })
  log(`starting Redis on ${at.host}:${at.port} (data ${dir}, log ${logFile})`)
  // '-::1': bind IPv6 loopback when the machine has it, skip it quietly when not.
  const bind = at.host === 'localhost' ? ['127.0.0.1', '-::1'] : [at.host]
  await runOrThrow(redisServer, ['--bind', ...bind,
    '--port', String(at.port), '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
    '--daemonize', 'yes', '--pidfile', pidFile, '--logfile', logFile])
  // The foreground process exits once it has forked; a failed bind only shows in the log, hence the wait.
  if (!(await waitForProbe(() => probeRedis(at), 'answers', READY_TIMEOUT_MS))) {
    const serverLog = await readFile(logFile, 'utf8').catch(() => '')
    throw new Error(`Redis did not start on ${at.host}:${at.port}: ${lastLines(serverLog, 10)}`)
  }

  const where = `Redis on ${at.host}:${at.port}`
  const stop = async () => {
    log(`stopping ${where}`)
    // NOSAVE skips the RDB dump only: the AOF is still flushed, so nothing acknowledged is lost.
    await exchange(at, SHUTDOWN_NOSAVE)
    if (!(await waitForProbe(() => probeRedis(at), 'silent', 10_000))) {
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim())
      if (pid > 0) process.kill(pid, 'SIGTERM')   // SHUTDOWN refused (e.g. a stuck AOF rewrite): ask the process
      if (!(await waitForProbe(() => probeRedis(at), 'silent', 10_000))) {
        throw new Error(`${where} did not stop (pid file ${pidFile})`)
      }
    }
    log(`${where} stopped`)
  }
  let stopping: Promise<void> | undefined
  return { stop: () => (stopping ??= stop()) }   // idempotent: every caller awaits the one shutdown
}
