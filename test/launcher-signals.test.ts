// npm start's launcher told twice to stop: a second Ctrl-C, or `timeout` signalling the process group again.
// The second signal may cut the API's and consumers' drain short, but the PostgreSQL and Redis the launcher
// started itself are always stopped before it exits. Its servers run on free ports with their data in a temp
// directory (test/launcher-entry.ts): the machine's own 5432/6379 are never touched.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { waitFor } from './helpers.js'
import { exitCodeOf, startNode, type Started } from './processes.js'
import { freePort, isListening } from '../devtools/ports.js'

/** Running, as opposed to gone or a zombie nobody reaped yet (a container's init may not reap at all). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  const stat = (() => { try { return readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return '' } })()
  return stat === '' || stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
}

/** Is `pid` still the process we mean? An argument ends with our data dir or port, so a reused pid is left alone. */
const isOurs = (pid: number, mark: string) => {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.endsWith(mark)) } catch { return false }
}

const refusesConnections = async (port: number) => !(await isListening(port))

/** Is a client of this Redis blocked in XREADGROUP, i.e. is the consumer waiting in its read? */
async function isConsumerBlocked(port: number): Promise<boolean> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  try {
    await redis.connect()
    const clients = String(await redis.client('LIST')).split('\n')
    return clients.some((c) => / flags=\S*b\S* /.test(c) && / cmd=xreadgroup /.test(c))
  } finally {
    redis.disconnect()
  }
}

/** The pids every JSON log line names: the API's and the consumer's. */
const childPids = (output: string) => [...new Set([...output.matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1])))]

interface Launcher extends Started {
  dataDir: string
  servers: { name: string; pid: number; port: number }[]
}

async function startLauncher(t: TestContext): Promise<Launcher> {
  const dir = await mkdtemp(join(tmpdir(), 'tally-launcher-'))
  await chmod(dir, 0o755)   // mkdtemp gives 0700; as root, the postgres user must be able to enter it
  const dataDir = join(dir, 'data')
  const [pgPort, redisPort, apiPort] = [await freePort(), await freePort(), await freePort()]
  const { PATH, HOME } = process.env
  const launcher = startNode(t, 'test/launcher-entry.ts', {
    args: [dataDir],
    detached: true,   // a process group of its own, as a shell gives a foreground job: the test signals the group
    env: {
      PATH, HOME, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(apiPort), LOG_LEVEL: 'info',
      DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/tally`, REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      JWT_SECRET: 'a-test-secret-that-is-long-enough-0123456789', CONSUMERS: '1', METRICS_PORT: '0', CONSUMER_METRICS_PORT: '0',
      // A consumer stops after its blocking read returns: a long BLOCK makes the graceful drain last long
      // enough that the second signal surely lands in it, and a launcher that ignored that signal would show.
      CONSUMER_BLOCK_MS: '20000', SHUTDOWN_GRACE_MS: '30000',
    },
  })
  const { child, output } = launcher
  const pidFiles = { PostgreSQL: join(dataDir, 'postgres', 'postmaster.pid'), Redis: join(dataDir, 'redis', 'redis.pid') }
  const pidIn = async (file: string) => Number((await readFile(file, 'utf8')).split('\n')[0])
  t.after(async () => {
    // Safety net for a failed assertion or start-up: nothing this test started may outlive it. The
    // launcher's group is startNode's to kill; the API, the consumer and the servers have groups of their own.
    for (const pid of childPids(output())) { try { process.kill(pid, 'SIGKILL') } catch { /* gone already */ } }
    for (const [name, mark] of [['PostgreSQL', join(dataDir, 'postgres')], ['Redis', `:${redisPort}`]] as const) {
      const pid = await pidIn(pidFiles[name]).catch(() => 0)
      // SIGQUIT is PostgreSQL's immediate shutdown; Redis dies of it too.
      if (pid > 0 && isRunning(pid) && isOurs(pid, mark)) process.kill(pid, 'SIGQUIT')
    }
    await rm(dir, { recursive: true, force: true })
  })
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`the launcher exited early:\n${output()}`)
    const live = await fetch(`http://127.0.0.1:${apiPort}/health/live`).then((r) => r.ok, () => false)
    // The consumer is up once it waits in its blocking read.
    return live && await isConsumerBlocked(redisPort)
  }, { timeoutMs: 90_000, what: 'the local servers, the API and the consumer to be up' })
  const servers = [{ name: 'PostgreSQL', pid: await pidIn(pidFiles.PostgreSQL), port: pgPort },
    { name: 'Redis', pid: await pidIn(pidFiles.Redis), port: redisPort }]
  return { ...launcher, dataDir, servers }
}

async function assertEverythingStopped(l: Launcher): Promise<void> {
  for (const s of l.servers) {
    assert.equal(isRunning(s.pid), false, `${s.name} (pid ${s.pid}) outlived the launcher:\n${l.output()}`)
    assert.equal(await refusesConnections(s.port), true, `something still listens on ${s.name}'s port ${s.port}`)
    assert.match(l.output(), new RegExp(`tally: ${s.name} on 127\\.0\\.0\\.1:${s.port} stopped`), 'the launcher did not say so')
  }
  assert.match(l.output(), /tally: stopping PostgreSQL on \S+ \(fast shutdown\)/)
  assert.doesNotMatch(l.output(), /stopping the local servers failed/)
  await waitFor(() => childPids(l.output()).every((pid) => !isRunning(pid)), { what: 'no API or consumer process left' })
}

for (const { name, signal } of [
  { name: 'Ctrl-C twice', signal: 'SIGINT' },
  { name: 'SIGTERM to the process group twice, as timeout sends it', signal: 'SIGTERM' },
] as const) {
  test(`${name}: the drain is cut short, and the PostgreSQL and Redis npm start started are stopped`,
    { timeout: 180_000 }, async (t) => {
      const l = await startLauncher(t)
      // The consumer waits in its blocking read, so it drains for up to CONSUMER_BLOCK_MS after the first signal:
      // the second one surely lands in the drain, as when a person presses Ctrl-C again a moment later.
      process.kill(-l.child.pid!, signal)
      await waitFor(() => l.output().includes('tally: stopping ('), { what: 'the launcher to take the first signal' })
      process.kill(-l.child.pid!, signal)
      assert.equal(await exitCodeOf(l, 60_000), 1, l.output())
      assert.match(l.output(), /tally: second signal: killing the api and consumers now; PostgreSQL on \S+ and Redis on \S+ will still be stopped/)
      await assertEverythingStopped(l)
    })
}

/** A process whose command line has every one of `words`, if one runs right now. */
function findProcess(words: string[]): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = (() => { try { return readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') } catch { return [] } })()
    if (words.every((w) => cmdline.includes(w))) return Number(entry)
  }
  return undefined
}

test('a signal to the process group while pg_ctl stops PostgreSQL does not cut the stop off', { timeout: 180_000 }, async (t) => {
  const l = await startLauncher(t)
  process.kill(-l.child.pid!, 'SIGTERM')
  await waitFor(() => l.output().includes('tally: stopping ('), { what: 'the launcher to take the first signal' })
  process.kill(-l.child.pid!, 'SIGTERM')   // no drain to wait for: this test is about what comes after it
  // pg_ctl waits at least one 100 ms poll for the server to go, so a 10 ms poll sees it and signals inside that window.
  await waitFor(() => findProcess(['stop', '-D', join(l.dataDir, 'postgres')]), { intervalMs: 10, what: 'pg_ctl stop to run' })
  process.kill(-l.child.pid!, 'SIGTERM')
  assert.equal(await exitCodeOf(l, 60_000), 1, l.output())
  assert.match(l.output(), /tally: already stopping; PostgreSQL on \S+ and Redis on \S+ will still be stopped before exiting/)
  await assertEverythingStopped(l)
})
