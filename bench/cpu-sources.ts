/**
 * The processes every scenario shares, for the CPU meter: the Redis server, the PostgreSQL backends
 * of the bench's database, and the bench process itself (autocannon runs inside it: "loadgen").
 *
 * What is and is not counted: PostgreSQL forks one backend per connection, so counting only the
 * backends whose datname is the bench's database leaves out others' load on the same server
 * (their backends serve other databases). Redis is one process for every client: its CPU includes
 * whatever else uses the shared Redis during the run, and nothing here can tell the two apart.
 */
import type { RedisClient } from '../shared/redis/client.js'
import { sql } from 'drizzle-orm'
import type { Db } from '../shared/db/client.js'
import { readProcStat } from './proc-cpu.js'
import type { CpuSources, Watched } from './cpu-meter.js'

/**
 * Redis' server process when it runs on this machine: INFO server's process_id, checked against
 * /proc, since a Redis on another host or in another PID namespace has an id that means nothing here.
 */
export async function redisServerProcess(redis: RedisClient): Promise<Watched | undefined> {
  const info = await redis.info('server')
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1])
  const stat = Number.isInteger(pid) ? readProcStat(pid) : undefined
  return stat && /redis|valkey/.test(stat.comm) ? { group: 'redis', name: 'redis-server', pid } : undefined
}

/**
 * The backends connected to `database` now, client backends and whatever else PostgreSQL runs for
 * it (autovacuum workers, parallel workers). Only those visible in /proc as postgres count: a server
 * elsewhere would give pids of unrelated local processes. A backend that starts and ends between two
 * look-ups (a parallel worker, a short connection) is missed: the pools used here hold theirs open.
 */
export function postgresBackends(admin: Db, database: string): () => Promise<Watched[]> {
  return async () => {
    const rows = await admin.execute<{ pid: number; backend_type: string | null }>(
      sql`select pid, backend_type from pg_stat_activity where datname = ${database}`)
    return rows.filter((r) => readProcStat(r.pid)?.comm === 'postgres').map((r) => ({
      group: 'postgres' as const,
      name: `${r.backend_type === 'client backend' || !r.backend_type ? 'backend' : r.backend_type.replace(/\s+/g, '-')}/${r.pid}`,
      pid: r.pid,
    }))
  }
}

/** Redis, PostgreSQL's backends for the bench database, and this process as the load generator. */
export async function sharedCpuSources(redis: RedisClient, admin: Db, database: string): Promise<CpuSources & { redisFound: boolean }> {
  const redisServer = await redisServerProcess(redis)
  // Not with descendants: the bench's children are the processes under test, metered in their own groups.
  const loadgen: Watched = { group: 'loadgen', name: 'bench', pid: process.pid }
  return { fixed: [...(redisServer ? [redisServer] : []), loadgen], dynamic: postgresBackends(admin, database), redisFound: redisServer !== undefined }
}

/** The shared sources plus a scenario's own processes. */
export const withProcesses = (shared: CpuSources, own: readonly Watched[]): CpuSources =>
  ({ fixed: [...shared.fixed, ...own], dynamic: shared.dynamic })
