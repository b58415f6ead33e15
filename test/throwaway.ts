/**
 * Throwaway servers for fault tests: a redis-server or PostgreSQL of the test's own on a free
 * loopback port, which the test may stop and start at will. The machine's own servers are never touched.
 */
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { isRoot, run, runOrThrow } from '../launcher/exec.js'
import { asPostgres, findPostgresBinaries } from '../launcher/postgres.js'
import { waitFor } from './helpers.js'
import { startProcess, stopProcess, type Started } from './processes.js'

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

const isListening = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect(port, '127.0.0.1')
  socket.once('connect', () => { socket.destroy(); resolve(true) })
  socket.once('error', () => resolve(false))
})

export interface ThrowawayServer { url: string; port: number; start(): Promise<void>; stop(): Promise<void> }

/** A throwaway Redis that can also hang (SIGSTOP: connections stay open, nothing answers) and wake. */
export interface ThrowawayRedis extends ThrowawayServer { pause(): void; resume(): void }

/**
 * A redis-server that keeps nothing on disk, killed when the test ends. With `aof`, it keeps an append-only
 * file fsynced on every write (appendfsync always) in a temp dir, so a SIGKILL and start() lose nothing it
 * acknowledged; everysec, the production setting, may lose the last second (docs/guarantees.md).
 */
export async function throwawayRedis(t: TestContext, { aof = false } = {}): Promise<ThrowawayRedis> {
  const port = await freePort()
  let redis: Started | undefined
  const dir = aof ? mkdtempSync(join(tmpdir(), 'tally-redis-')) : undefined
  if (dir) t.after(() => rmSync(dir, { recursive: true, force: true }))
  const persistence = dir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir] : ['--appendonly', 'no']
  const server: ThrowawayRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause() { redis?.child.kill('SIGSTOP') },
    resume() { redis?.child.kill('SIGCONT') },
    async start() {
      const started = startProcess(t, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence],
        { env: process.env })
      redis = started
      await waitFor(() => {
        if (started.child.exitCode !== null) throw new Error(`redis-server exited: ${started.output()}`)
        return isListening(port)
      }, { intervalMs: 50, what: `redis-server to listen on ${port}` })
    },
    async stop() {
      if (redis) await stopProcess(redis, 'SIGKILL')   // killed, not shut down: a crash is what the fault tests want
    },
  }
  await server.start()
  return server
}

/** A PostgreSQL cluster in a temp dir (trust auth), stopped and removed when the test ends. */
export async function throwawayPostgres(t: TestContext): Promise<ThrowawayServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tally-pg-'))
  const data = join(dir, 'data')
  let stop = async () => {}
  t.after(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
  })
  // The binaries npm start would use (same lookup), run as the postgres user when we are root, as npm start does.
  const binaries = await findPostgresBinaries(data, process.env.PATH)
  if (!binaries) throw new Error('initdb/pg_ctl not found: install PostgreSQL (Debian: apt-get install postgresql)')
  if (isRoot()) await runOrThrow('chown', ['postgres', dir])
  await runOrThrow(...asPostgres(binaries.initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']))
  const server: ThrowawayServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await runOrThrow(...asPostgres(binaries.pgCtl, ['-D', data, '-w', '-l', join(dir, 'log'), '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`, 'start']))
    },
    async stop() {
      await run(...asPostgres(binaries.pgCtl, ['-D', data, '-m', 'immediate', 'stop']))   // fails harmlessly when stopped
    },
  }
  stop = () => server.stop()
  await server.start()
  return server
}
