/**
 * Throwaway servers for fault tests: a redis-server, a PostgreSQL or a Redis Cluster of the test's own on free
 * loopback ports, which the test may stop and start at will, gone when the test ends. They are brought up the
 * way npm start brings up its own (launcher/redis.ts, launcher/postgres.ts) and the bench its cluster
 * (devtools/redis-cluster.ts). The machine's own servers are never touched.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { freePort } from '../devtools/ports.js'
import { startRedisCluster, type RedisCluster } from '../devtools/redis-cluster.js'
import { findExecutable } from '../launcher/executables.js'
import { findPostgresBinaries, startPostgres, type LocalPostgres } from '../launcher/postgres.js'
import { startRedis, type LocalRedis } from '../launcher/redis.js'

export interface ThrowawayServer { url: string; port: number; start(): Promise<void>; stop(): Promise<void> }

/** A throwaway Redis that can also hang (SIGSTOP: connections stay open, nothing answers) and wake. */
export interface ThrowawayRedis extends ThrowawayServer { pause(): void; resume(): void }

export type ThrowawayCluster = RedisCluster

const quiet = () => {}

/**
 * A temp dir that others may enter (as root, the postgres user must), removed when the test ends, after `stop`:
 * one hook, whatever order node:test runs hooks in.
 */
async function tempDir(t: TestContext, name: string, stop: () => Promise<void>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tally-${name}-`))
  t.after(async () => {
    await stop()
    await rm(dir, { recursive: true, force: true })
  })
  await chmod(dir, 0o755)
  return dir
}

/**
 * A redis-server that keeps no data on disk (its log and pid file only, in a temp dir), killed when the test ends.
 * With `aof`, it keeps an append-only file fsynced on every write (appendfsync always) there, so a SIGKILL and
 * start() lose nothing it acknowledged; everysec, the production setting, may lose the last second (docs/guarantees.md).
 */
export async function throwawayRedis(t: TestContext, { aof = false } = {}): Promise<ThrowawayRedis> {
  const port = await freePort()
  let redis: LocalRedis | undefined
  const dataDir = await tempDir(t, 'redis', async () => { await redis?.process.kill() })
  const redisServer = await findExecutable('redis-server', process.env.PATH)
  if (!redisServer) throw new Error('redis-server not found: install Redis (Debian: apt-get install redis-server)')
  const server: ThrowawayRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause() { redis?.process.child.kill('SIGSTOP') },
    resume() { redis?.process.child.kill('SIGCONT') },
    async start() {
      redis = await startRedis({ redisServer, dataDir, at: { host: '127.0.0.1', port }, log: quiet, appendfsync: aof ? 'always' : 'off' })
    },
    async stop() {
      await redis?.process.kill()   // killed, not shut down: a crash is what the fault tests want
    },
  }
  await server.start()
  return server
}

/** A PostgreSQL cluster in a temp dir (trust auth), stopped and removed when the test ends. */
export async function throwawayPostgres(t: TestContext): Promise<ThrowawayServer> {
  const port = await freePort()
  let postgres: LocalPostgres | undefined
  const dataDir = await tempDir(t, 'pg', async () => { await postgres?.stop() })
  // The binaries npm start would use (same lookup), run as the postgres user when we are root, as npm start does.
  const binaries = await findPostgresBinaries(join(dataDir, 'postgres'), process.env.PATH)
  if (!binaries) throw new Error('initdb/pg_ctl not found: install PostgreSQL (Debian: apt-get install postgresql)')
  const server: ThrowawayServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      postgres = await startPostgres({ binaries, dataDir, at: { host: '127.0.0.1', port }, log: quiet,
        durable: false, stopMode: 'immediate' })
    },
    async stop() {
      await postgres?.stop()
    },
  }
  await server.start()
  return server
}

/** A Redis Cluster of 3 masters and 3 replicas (by default) that fails over within about a second; killed when the test ends. */
export async function throwawayCluster(t: TestContext, { masters = 3, replicasPerMaster = 1 } = {}): Promise<ThrowawayCluster> {
  const cluster = await startRedisCluster({ masters, replicasPerMaster, nodeTimeoutMs: 1000 })
  t.after(() => cluster.stop())
  return cluster
}
