/**
 * drain: pre-fill a stream with N votes, then time how fast 1, 2 and 4 consumer processes apply them.
 * The ceiling is the same set-based apply run straight on pre-built batches, with no Redis and no
 * process boundary, so the consumers' figure is also a fraction of what PostgreSQL alone allows here.
 * Both are metered for CPU per vote applied: the ceiling's cost is the bench process (its apply
 * runs there: "loadgen") and its PostgreSQL backend, the consumers' is theirs and their backends'.
 */
import type { RedisClient } from '../shared/redis/client.js'
import { sql } from 'drizzle-orm'
import { createDb, type Db } from '../shared/db/client.js'
import { redisKeys, type RedisKeys } from '../shared/redis/keys.js'
import { deleteKeysWithPrefix } from '../shared/redis/delete-prefix.js'
import { applyVotes } from '../consumer/apply.js'
import { collapse } from '../consumer/collapse.js'
import { decodeEntry, type Vote } from '../consumer/decode.js'
import { startProcess } from './processes.js'
import type { World } from './world.js'
import { shardsBacklog } from '../shared/redis/stream-info.js'
import { startCpuMeter, type CpuFigures, type CpuMeter, type CpuSources, type Watched } from './cpu-meter.js'
import { withProcesses } from './cpu-sources.js'

export interface DrainFigures {
  votes: number
  ceilingPerSecond: number
  /** Absent in older result files. */
  ceilingCpu?: CpuFigures
  byConsumers: Record<string, { seconds: number; perSecond: number; ratioToCeiling: number; cpu?: CpuFigures }>
}

const XADD_CHUNK = 10_000
/** Drain consumers serve /metrics here (one port each) only so the bench can tell when each has started. */
const METRICS_PORT = 19200
/** If some consumer's /metrics never answers (port taken), meter anyway this long after the first entry is taken. */
const READY_WAIT_MS = 5000

function randomVotes(world: World, users: number, n: number): [number, number, number][] {
  const span = world.contents.last - world.contents.first + 1
  return Array.from({ length: n }, () => [
    1 + Math.floor(Math.random() * users), world.contents.first + Math.floor(Math.random() * span), Math.floor(Math.random() * 6),
  ])
}

/**
 * Every run starts from no votes and zero counts. The reset rewrites most contents rows at once, which
 * leaves a dead version beside each: vacuumed here, before the clock starts, or the run itself would pay
 * for pruning them (and the full-page WAL images that pruning writes), which autovacuum spreads thinly
 * over a live table. Measured: 30 → 25 µs of PostgreSQL per vote on 1,000,000 contents.
 */
async function resetVotes(db: Db): Promise<void> {
  await db.execute(sql`truncate votes`)
  await db.execute(sql`update contents set vote_count = 0, vote_sum = 0, votes_0 = 0, votes_1 = 0, votes_2 = 0, votes_3 = 0, votes_4 = 0,
    votes_5 = 0 where vote_count <> 0`)
  await db.execute(sql`truncate score_totals`)
  await db.execute(sql`vacuum analyze contents, votes`)
}

/**
 * Each vote onto its content's shard, as the vote script would put it. One pipeline per shard: a Cluster
 * client refuses a pipeline whose keys span slots, and each shard's stream is a slot of its own.
 */
async function fillStreams(redis: RedisClient, keys: RedisKeys, votes: readonly [number, number, number][]): Promise<void> {
  for (let i = 0; i < votes.length; i += XADD_CHUNK) {
    const pipelines = Array.from({ length: keys.shards }, () => redis.pipeline())
    for (const [u, c, s] of votes.slice(i, i + XADD_CHUNK)) {
      const shard = keys.shardOf(c)
      pipelines[shard]!.xadd(keys.stream(shard), '*', 'user', u, 'content', c, 'score', s, 'ts', Date.now())
    }
    await Promise.all(pipelines.map((p) => (p.length > 0 ? p.exec() : null)))
  }
}

export async function drain(world: World, redis: RedisClient, opts: {
  votes: number; users: number; consumerCounts: number[]; batchSize: number; cpu: CpuSources; log: (m: string) => void
}): Promise<DrainFigures> {
  const db = createDb(world.databaseUrl, { max: 2 })
  const votes = randomVotes(world, opts.users, opts.votes)
  const group = 'bench-drain'
  const figures: DrainFigures = { votes: opts.votes, ceilingPerSecond: 0, byConsumers: {} }
  try {
    // Ceiling: the consumer's own apply on batches built in memory.
    await resetVotes(db)
    const ceilingMeter = await startCpuMeter(opts.cpu)
    const started = performance.now()
    for (let i = 0; i < votes.length; i += opts.batchSize) {
      const batch = votes.slice(i, i + opts.batchSize).map(([u, c, s], j) =>
        decodeEntry('s', [`${1_700_000_000_000 + i + j}-0`, ['user', String(u), 'content', String(c), 'score', String(s)]]) as Vote)
      await applyVotes(db, collapse(batch))
    }
    figures.ceilingPerSecond = Math.round(votes.length / ((performance.now() - started) / 1000))
    figures.ceilingCpu = await ceilingMeter.stop(votes.length, 'vote')
    opts.log(`drain ceiling: ${figures.ceilingPerSecond} votes/s`)

    for (const count of opts.consumerCounts) {
      await resetVotes(db)
      const prefix = `${world.prefix}drain${count}:`
      const keys = redisKeys(prefix, world.shards)
      const streams = Array.from({ length: keys.shards }, (_, shard) => keys.stream(shard))
      await fillStreams(redis, keys, votes)
      const ports = Array.from({ length: count }, (_, i) => METRICS_PORT + i)
      const consumers = await Promise.all(ports.map((port) => startProcess('consumer/main.ts', {
        DATABASE_URL: world.databaseUrl, ...world.redisEnv, REDIS_PREFIX: prefix, VOTE_STREAM_SHARDS: String(world.shards),
        CONSUMER_GROUP: group, METRICS_HOST: '127.0.0.1', CONSUMER_METRICS_PORT: String(port), CONSUMER_BATCH_SIZE: String(opts.batchSize),
        LOG_LEVEL: 'warn', NODE_ENV: 'production', JWT_SECRET: world.secret,
      })))
      try {
        // The clock starts with the first entry taken, so process start-up is not counted. The CPU meter
        // starts once every consumer serves /metrics (its modules loaded, its loop starting: a consumer's
        // start-up under tsx is over a second of CPU, which one started late would otherwise add), and
        // divides by the votes still to apply then. The clock is not moved: drain times stay comparable.
        const own = consumers.map((c, i): Watched => ({
          group: 'consumers', name: `consumer-${i + 1}`, pid: c.child.pid!, withDescendants: true,
        }))
        const ready = new Set<number>()
        let t0 = 0
        let meter: CpuMeter | undefined
        let leftAtStart = 0
        for (;;) {
          const left = await shardsBacklog(redis, streams, group)
          if (t0 === 0 && left < votes.length) t0 = performance.now()
          if (left === 0) break
          if (!meter) {
            await Promise.all(ports.filter((p) => !ready.has(p)).map(async (p) => {
              const res = await fetch(`http://127.0.0.1:${p}/metrics`).catch(() => undefined)
              await res?.arrayBuffer()
              if (res?.ok) ready.add(p)
            }))
            if (ready.size === ports.length || (t0 > 0 && performance.now() - t0 > READY_WAIT_MS)) {
              meter = await startCpuMeter(withProcesses(opts.cpu, own))
              leftAtStart = await shardsBacklog(redis, streams, group)
            }
          }
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        const seconds = (performance.now() - t0) / 1000
        const cpu = await meter?.stop(leftAtStart, 'vote')
        const perSecond = Math.round(votes.length / seconds)
        figures.byConsumers[String(count)] = {
          seconds: Math.round(seconds * 100) / 100,
          perSecond,
          ratioToCeiling: Math.round((perSecond / figures.ceilingPerSecond) * 100) / 100,
          ...(cpu ? { cpu } : {}),
        }
        opts.log(`drain with ${count} consumer(s): ${perSecond} votes/s`)
      } finally {
        await Promise.all(consumers.map((c) => c.stop()))
        await deleteKeysWithPrefix(redis, prefix)
      }
    }
    return figures
  } finally {
    await db.close()
  }
}
