/**
 * `npm run bench`: sets itself up from nothing (database, Redis prefix, users, contents, tokens),
 * starts the processes it measures, drives load with autocannon, checks the result, writes JSON
 * and Markdown to bench/results/, and removes everything it made. `--help` lists the options.
 */
import { cpus, totalmem } from 'node:os'
import { execFileSync } from 'node:child_process'
import { loadConfig } from '../shared/config.js'
import { createRedis, closeRedis } from '../shared/redis/client.js'
import { redisKeys } from '../shared/redis/keys.js'
import { redisTarget } from '../shared/redis/target.js'
import { startRedisCluster } from '../devtools/redis-cluster.js'
import { HELP, parseBenchArgs } from './args.js'
import { createWorld } from './world.js'
import { createDb } from '../shared/db/client.js'
import { baseline, mixed, read, sampled, startStack, voteHot, voteSpread, type ScenarioResult, type Stack } from './scenarios.js'
import { toMarkdown, writeReports, type Machine } from './report.js'
import { waitForDrain } from './drain.js'
import { drain } from './drain-scenario.js'
import { compareRuns, loadRun } from './compare.js'
import { killStarted } from './processes.js'
import { BASELINE_END } from './summary-rows.js'
import { startCpuMeter } from './cpu-meter.js'
import { sharedCpuSources } from './cpu-sources.js'
import { clockTicksPerSecond } from './proc-cpu.js'

const log = (msg: string) => console.error(`bench: ${msg}`)
const opts = (() => {
  try {
    return parseBenchArgs(process.argv.slice(2))
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`)
    process.exit(2)
  }
})()
if (opts.help) {
  console.log(HELP)
  process.exit(0)
}

// Read before any load runs: a wrong path should fail now, not after twenty minutes of bench.
const earlier = (() => {
  if (!opts.compare) return undefined
  try {
    return loadRun(opts.compare)
  } catch (err) {
    console.error(`--compare: ${(err as Error).message}`)
    process.exit(2)
  }
})()

const config = loadConfig()
const adminUrl = new URL(config.DATABASE_URL)
adminUrl.pathname = '/postgres'
const version = (cmd: string, args: string[]) => {
  try { return execFileSync(cmd, args, { encoding: 'utf8' }).trim() } catch { return 'unknown' }
}
const machine: Machine = {
  cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version,
  postgres: version('psql', ['--version']).replace(/^psql \(PostgreSQL\) /, ''),
  redis: version('redis-server', ['--version']).split(' ')[2]?.replace('v=', '') ?? 'unknown',
}

// --redis-cluster: a cluster of the run's own, gone when the bench exits however it exits (an exit
// handler must be synchronous: the nodes are SIGKILLed by PID). Masters only, no replicas: on a 2-core box a
// replica only adds the CPU of copying every write (its share would be charged to no request and taken from the
// processes measured), and tally never reads from a replica (the client sends every command to masters), so it
// would change no figure but make them noisier.
const cluster = opts.redisCluster > 0 ? await startRedisCluster({ masters: opts.redisCluster }) : undefined
if (cluster) {
  process.on('exit', cluster.killNow)
  const nodes = cluster.nodes
  log(`redis cluster: ${nodes.length} master(s) on ${nodes.map((n) => n.port).join(', ')} (pids ${nodes.map((n) => n.pid).join(', ')})`)
}
process.on('exit', killStarted)
// Interrupted (Ctrl-C, a timeout's SIGTERM): the API and consumers go at once, then the world (its database
// and Redis keys) is removed before the bench exits; a second signal exits without waiting for that.
let removeWorld: (() => Promise<void>) | undefined
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    if (process.exitCode === code) process.exit(code)
    process.exitCode = code
    killStarted()
    log(`${signal}: removing what the bench made, then exiting (again to exit now)`)
    void (removeWorld?.() ?? Promise.resolve()).catch((err: unknown) => log(`could not remove the world: ${(err as Error).message}`))
      .finally(() => process.exit(code))
  })
}
const clusterNodes = cluster?.startupNodes.map((n) => `${n.host}:${n.port}`).join(',') ?? config.REDIS_CLUSTER_NODES
const redisEnv: Record<string, string> = clusterNodes ? { REDIS_CLUSTER_NODES: clusterNodes } : { REDIS_URL: config.REDIS_URL }
const target = redisTarget({ REDIS_URL: config.REDIS_URL, REDIS_CLUSTER_NODES: clusterNodes })

const world = await createWorld({
  adminUrl: adminUrl.toString(), redis: target, redisEnv, shards: config.VOTE_STREAM_SHARDS, users: opts.users, contents: opts.contents,
  log,
  removable: (remove) => { removeWorld = remove },
})
const redis = createRedis(target)
// pg_stat_activity is read over the postgres database, so the meter's own backend is not one it counts.
const admin = createDb(adminUrl.toString(), { max: 1 })
const results: ScenarioResult[] = []
const PORT = 18003

/**
 * A scenario that accepts votes: CPU is metered from before the load until the consumers have
 * applied every vote it accepted (before the audit), so the consumers' and PostgreSQL's cost of
 * the last votes counts, over the requests served.
 */
async function untilApplied(stack: Stack, run: () => Promise<ScenarioResult>): Promise<ScenarioResult> {
  const meter = await startCpuMeter(stack.cpu)
  const result = await run()
  result.extra.drain = await waitForDrain(redis, world, config.CONSUMER_GROUP, opts.consumers > 0, async () => {
    result.cpu = await meter.stop(result.load?.total ?? 0)
  })
  return result
}

try {
  const shared = await sharedCpuSources(redis, admin, new URL(world.databaseUrl).pathname.slice(1))
  if (shared.redisServers === 0) log('the Redis server is not a process on this machine: no redis CPU figures')
  const metered = new Set(shared.fixed.filter((w) => w.group === 'redis').map((w) => w.pid))
  const unmetered = cluster?.nodes.filter((n) => !metered.has(n.pid)) ?? []
  if (unmetered.length > 0) {
    log(`cluster nodes ${unmetered.map((n) => n.port).join(', ')} not found by INFO in /proc: the redis figure leaves them out`)
  }
  const streams = Array.from({ length: world.shards }, (_, shard) => redisKeys(world.prefix, world.shards).stream(shard))
  const shardsPerNode = cluster ? await cluster.keysPerNode(streams) : undefined
  if (shardsPerNode) log(`vote stream shards per master: ${Object.entries(shardsPerNode).map(([node, n]) => `${node} ${n}`).join(', ')}`)
  log(`CPU from /proc at ${clockTicksPerSecond()} ticks per second`)
  for (const scenario of opts.scenarios) {
    log(scenario === 'drain'
      ? `scenario drain: ${opts.drainVotes} votes, ${opts.drainConsumers.join(', ')} consumer(s)`
      : `scenario ${scenario}: ${opts.durationSeconds} s at ${opts.connections} connections`)
    if (scenario === 'baseline') results.push(await baseline(opts, 18090, shared))
    if (scenario === 'vote-spread') {
      const stack = await startStack(world, opts, PORT, shared, { VOTE_THRESHOLD_COUNT_LIMIT: '1000000000' })
      try {
        results.push(await untilApplied(stack, async () => {
          const { value: result, samples, memoryGrowth } = await sampled(stack, () => voteSpread(world, opts, stack))
          Object.assign(result, { samples })
          result.extra.memoryGrowth = memoryGrowth
          return result
        }))
      } finally {
        await stack.stop()
      }
    }
    if (scenario === 'vote-hot') {
      const stack = await startStack(world, opts, PORT, shared, {
        VOTE_THRESHOLD_COUNT_LIMIT: String(opts.limit), VOTE_THRESHOLD_PERIOD: String(opts.periodSeconds),
        LOCK_DURATION: String(opts.lockSeconds),
      })
      try {
        // Fresh contents, so no window left over from another scenario counts here.
        const hotIds: number[] = []
        for (let i = 0; i < 5; i++) {
          const res = await fetch(`${stack.url}/api/contents/`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: `hot ${i}` }),
          })
          hotIds.push((await res.json() as { id: number }).id)
        }
        const result = await untilApplied(stack, async () => {
          const { value, samples } = await sampled(stack, () => voteHot(world, opts, stack, redis, hotIds))
          return Object.assign(value, { samples })
        })
        results.push(result)
        if (!result.extra.exact) process.exitCode = 1
      } finally {
        await stack.stop()
      }
    }
    if (scenario === 'read' || scenario === 'mixed') {
      const stack = await startStack(world, opts, PORT, shared, { VOTE_THRESHOLD_COUNT_LIMIT: '1000000000' })
      try {
        if (scenario === 'read') results.push(...await read(world, opts, stack))
        else results.push(await untilApplied(stack, () => mixed(world, opts, stack)))
      } finally {
        await stack.stop()
      }
    }
    if (scenario === 'drain') {
      const figures = await drain(world, redis, {
        votes: opts.drainVotes, users: opts.users, consumerCounts: opts.drainConsumers, batchSize: config.CONSUMER_BATCH_SIZE,
        cpu: shared, log,
      })
      results.push({ name: 'drain', extra: { ...figures } })
    }
  }
  // The bare route again, after everything: on a shared machine its speed drifts over a run of minutes,
  // and each ratio is then taken to the mean of the two (bench/summary-rows.ts).
  if (opts.scenarios.includes('baseline') && opts.scenarios.some((s) => s !== 'baseline')) {
    log(`scenario ${BASELINE_END}: ${opts.durationSeconds} s at ${opts.connections} connections`)
    results.push(await baseline(opts, 18090, shared, BASELINE_END))
  }
  const shardsEnv = world.shards > 1 ? `VOTE_STREAM_SHARDS=${world.shards} ` : ''
  const command = `${shardsEnv}npm run bench -- ${process.argv.slice(2).join(' ')}`.trim()
  const options = { ...opts, shards: world.shards, ...(shardsPerNode ? { shardsPerNode } : {}) }
  const run = { date: new Date().toISOString(), command, machine, options, results }
  const comparison = earlier ? compareRuns(earlier, run, opts.compare!) : ''
  const files = writeReports(run, opts.outDir, comparison)
  console.log(toMarkdown(run))
  if (comparison) console.log(comparison)
  log(`wrote ${files.json}, ${files.markdown}, ${files.html} and ${files.svg}`)
} finally {
  await closeRedis(redis)
  await admin.close()
  await world.remove()
  await cluster?.stop()
}
