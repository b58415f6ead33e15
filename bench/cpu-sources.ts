/**
 * The processes every scenario shares, for the CPU meter: the Redis server, the PostgreSQL backends
 * of the bench's database, and the bench process itself (autocannon runs inside it: "loadgen").
 *
 * What is and is not counted: PostgreSQL forks one backend per connection, so counting only the
 * backends whose datname is the bench's database leaves out others' load on the same server
 * (their backends serve other databases). Redis is one process (or one per cluster node) for every client: its CPU
 * includes whatever else uses that Redis during the run, and nothing here can tell the two apart. The bench's own
 * cluster (--redis-cluster) serves the bench alone.
 */
import type { Cluster, Redis } from 'ioredis'
import type { RedisClient } from '../shared/redis/client.js'
import { sql } from 'drizzle-orm'
import type { Db } from '../shared/db/client.js'
import { readProcStat } from './proc-cpu.js'
import type { CpuSources, Watched } from './cpu-meter.js'

/**
 * Redis' server processes when they run on this machine: INFO server's process_id of each, checked
 * against /proc, since a Redis on another host or in another PID namespace has an id that means nothing
 * here. One server, or every node of a cluster (masters and replicas: a replica's copying is the writes' cost too).
 */
export async function redisServerProcesses(redis: RedisClient): Promise<Watched[]> {
  // The cluster client knows its nodes only once it has read the slots: any command waits for that.
  if (redis.isCluster) await redis.ping()
  const servers: [string, Redis][] = redis.isCluster
    ? (redis as Cluster).nodes('all').map((node) => [`redis-server:${node.options.port}`, node])
    : [['redis-server', redis as Redis]]
  const found = await Promise.all(servers.map(async ([name, server]): Promise<Watched | undefined> => {
    const pid = Number(/^process_id:(\d+)/m.exec(await server.info('server'))?.[1])
    const stat = Number.isInteger(pid) ? readProcStat(pid) : undefined
    return stat && /redis|valkey/.test(stat.comm) ? { group: 'redis', name, pid } : undefined
  }))
  return found.filter((w) => w !== undefined)
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
export async function sharedCpuSources(redis: RedisClient, admin: Db, database: string): Promise<CpuSources & { redisServers: number }> {
  const redisServers = await redisServerProcesses(redis)
  // Not with descendants: the bench's children are the processes under test, metered in their own groups.
  const loadgen: Watched = { group: 'loadgen', name: 'bench', pid: process.pid }
  return { fixed: [...redisServers, loadgen], dynamic: postgresBackends(admin, database), redisServers: redisServers.length }
}

/** The shared sources plus a scenario's own processes. */
export const withProcesses = (shared: CpuSources, own: readonly Watched[]): CpuSources =>
  ({ fixed: [...shared.fixed, ...own], dynamic: shared.dynamic })
