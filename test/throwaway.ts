/**
 * Throwaway servers for fault tests: a redis-server or PostgreSQL of the test's own on a free
 * loopback port, which the test may stop and start at will. The machine's own servers are never touched.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { TestContext } from 'node:test'

const run = promisify(execFile)
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export interface ThrowawayServer { url: string; port: number; start(): Promise<void>; stop(): Promise<void> }

/** A throwaway Redis that can also hang (SIGSTOP: connections stay open, nothing answers) and wake. */
export interface ThrowawayRedis extends ThrowawayServer { pause(): void; resume(): void }

/** A redis-server that keeps nothing on disk, killed when the test ends. */
export async function throwawayRedis(t: TestContext): Promise<ThrowawayRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const server: ThrowawayRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause() { child?.kill('SIGSTOP') },
    resume() { child?.kill('SIGCONT') },
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      await waitForPort(port)
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    },
  }
  t.after(() => server.stop())
  await server.start()
  return server
}

/** A PostgreSQL cluster in a temp dir (trust auth), stopped and removed when the test ends. */
export async function throwawayPostgres(t: TestContext): Promise<ThrowawayServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tally-pg-'))
  const data = join(dir, 'data')
  // initdb refuses to run as root: run the cluster as the postgres system user then.
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : []
  if (asPostgres.length) await run('chown', ['postgres', dir])
  const sh = (cmd: string, args: string[]) => run(asPostgres[0] ?? cmd, asPostgres.length ? [...asPostgres.slice(1), cmd, ...args] : args)
  await sh(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const server: ThrowawayServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await sh(join(PG_BIN, 'pg_ctl'), ['-D', data, '-w', '-l', join(dir, 'log'), '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`, 'start'])
    },
    async stop() {
      await sh(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).catch(() => {})
    },
  }
  t.after(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  await server.start()
  return server
}
