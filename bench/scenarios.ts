import type { RedisClient } from '../shared/redis/client.js'
import { redisKeys } from '../shared/redis/keys.js'
import type { BenchOptions } from './args.js'
import { runLoad, type LoadResult, type Request } from './load.js'
import { profileArgs, startProcess, type Running } from './processes.js'
import type { World } from './world.js'
import { encodeCursor } from '../server/reads/cursor.js'
import { startSampler, type Sample, type Target } from './sampler.js'
import { growthAfterWarmup, round } from './stats.js'
import { startCpuMeter, waitUntilIdle, type CpuFigures, type CpuSources, type Watched } from './cpu-meter.js'
import { withProcesses } from './cpu-sources.js'

export interface ScenarioResult {
  name: string
  /** Absent for scenarios that are not HTTP load (drain). */
  load?: LoadResult
  /** Once-a-second samples from the processes' /metrics, where the scenario took them. */
  samples?: Sample[]
  /** CPU per request of each process, from /proc around the load (bench/cpu-meter.ts); absent in older result files. */
  cpu?: CpuFigures
  /** Scenario-specific checks and figures (drain time, lock exactness …). */
  extra: Record<string, unknown>
}

export interface Stack {
  url: string; api: Running; consumers: Running[]; targets: { api: Target; consumers: Target[] }
  /** The shared processes plus this stack's API (with its cluster workers) and consumers. */
  cpu: CpuSources
  stop(): Promise<void>
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!

/** The API (and consumers) on this bench's world; `env` overrides thresholds and the like. */
export async function startStack(
  world: World, opts: BenchOptions, port: number, shared: CpuSources, env: Record<string, string> = {}
): Promise<Stack> {
  const common = {
    NODE_ENV: 'production', DATABASE_URL: world.databaseUrl, ...world.redisEnv, REDIS_PREFIX: world.prefix,
    VOTE_STREAM_SHARDS: String(world.shards), JWT_SECRET: world.secret, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000000',
    REDIS_AUTO_PIPELINING: String(opts.autoPipelining), ...env,
  }
  const url = `http://127.0.0.1:${port}`
  const nodeArgs = profileArgs(opts.profileDir)
  // The API's metrics have a listener of their own (its primary's, with API_PROCESSES > 1), beside the port under load.
  const apiMetricsPort = port + 1
  const api = await startProcess('server/main.ts', {
    ...common, HOST: '127.0.0.1', PORT: String(port), METRICS_HOST: '127.0.0.1', METRICS_PORT: String(apiMetricsPort),
    API_PROCESSES: String(opts.apiProcesses),
  }, `${url}/health/ready`, [], nodeArgs)
  const consumerPorts = Array.from({ length: opts.consumers }, (_, i) => port + 1000 + i)
  const consumers = await Promise.all(consumerPorts.map((p) =>
    startProcess('consumer/main.ts', { ...common, METRICS_HOST: '127.0.0.1', CONSUMER_METRICS_PORT: String(p) }, undefined, [], nodeArgs)))
  const targets = {
    api: { name: 'api', url: `http://127.0.0.1:${apiMetricsPort}/metrics` },
    consumers: consumerPorts.map((p, i) => ({ name: `consumer-${i + 1}`, url: `http://127.0.0.1:${p}/metrics` })),
  }
  const stop = async () => { await Promise.all([api.stop(), ...consumers.map((c) => c.stop())]) }
  const own: Watched[] = [
    { group: 'api', name: 'api', pid: api.child.pid!, withDescendants: true },
    ...consumers.map((c, i): Watched => ({ group: 'consumers', name: `consumer-${i + 1}`, pid: c.child.pid!, withDescendants: true })),
  ]
  // Ready is not done: cluster workers still loading, JIT and tsx still compiling. Their start-up is no request's cost.
  if (!(await waitUntilIdle(own))) {
    console.error('bench: the API and consumers were still busy 10 s after start; their CPU figures include start-up')
  }
  return { url, api, consumers, targets, cpu: withProcesses(shared, own), stop }
}

export async function baseline(opts: BenchOptions, port: number, shared: CpuSources, name = 'baseline'): Promise<ScenarioResult> {
  const server = await startProcess('bench/baseline-server.ts', {}, `http://127.0.0.1:${port}/`, [String(port)])
  try {
    // In the api column, so every row's API cost stands beside a bare Fastify route's.
    const own: Watched[] = [{ group: 'api', name: 'baseline-server', pid: server.child.pid! }]
    await waitUntilIdle(own)
    const meter = await startCpuMeter(withProcesses(shared, own))
    // Requests are built per call, as in every other scenario, so the load generator's own cost
    // (it shares the machine) weighs the same on both sides of a ratio.
    const load = await runLoad({
      url: `http://127.0.0.1:${port}/`, connections: opts.connections, pipelining: opts.pipelining, durationSeconds: opts.durationSeconds,
      next: () => ({ path: '/', headers: { authorization: `Bearer ${Math.random()}` } }),
    })
    return { name, load, cpu: await meter.stop(load.total), extra: {} }
  } finally {
    await server.stop()
  }
}

/** Votes from many users over many contents, thresholds out of the way: the accepting path's throughput. */
export async function voteSpread(world: World, opts: BenchOptions, stack: Stack): Promise<ScenarioResult> {
  const { first, last } = world.contents
  const load = await runLoad({
    url: stack.url, method: 'POST', connections: opts.connections, pipelining: opts.pipelining, durationSeconds: opts.durationSeconds,
    next: () => ({
      path: '/api/vote/',
      headers: { authorization: `Bearer ${pick(world.tokens)}`, 'content-type': 'application/json' },
      body: `{"content":${first + Math.floor(Math.random() * (last - first + 1))},"score":${Math.floor(Math.random() * 6)}}`,
    }),
  })
  return {
    name: 'vote-spread', load,
    extra: {
      accepted: load.statusCounts['202'] ?? 0,
      acceptedPerSecond: Math.round((load.statusCounts['202'] ?? 0) / load.durationSeconds),
    },
  }
}

/**
 * Everyone votes on a few contents with real thresholds: the lock must engage exactly (at most LIMIT
 * accepted per content per window, checked from the stream itself), and refusals must be as fast as acceptances.
 */
export async function voteHot(
  world: World, opts: BenchOptions, stack: Stack, redis: RedisClient, hotIds: number[]
): Promise<ScenarioResult> {
  const keys = redisKeys(world.prefix, world.shards)
  // Each hot content's votes are in its own shard's stream: one XRANGE per stream (one slot each on a cluster).
  const streams = [...new Set(hotIds.map((id) => keys.stream(keys.shardOf(id))))]
  const startId = `${Date.now()}-0`
  const load = await runLoad({
    url: stack.url, method: 'POST', connections: opts.connections, pipelining: opts.pipelining, durationSeconds: opts.durationSeconds,
    next: () => ({
      path: '/api/vote/',
      headers: { authorization: `Bearer ${pick(world.tokens)}`, 'content-type': 'application/json' },
      body: `{"content":${pick(hotIds)},"score":${Math.floor(Math.random() * 6)}}`,
    }),
  })
  const entries = (await Promise.all(streams.map((stream) => redis.xrange(stream, startId, '+')))).flat()
  const perContent = new Map<number, number[]>()
  for (const [id, fields] of entries) {
    const content = Number(fields[fields.indexOf('content') + 1])
    if (hotIds.includes(content)) perContent.set(content, [...(perContent.get(content) ?? []), Number(id.split('-')[0])])
  }
  // Windows open with their first vote; after a lock a new one opens. Count accepted votes per window span.
  const spanMs = (opts.periodSeconds + opts.lockSeconds) * 1000
  let worst = 0
  for (const times of perContent.values()) {
    for (let i = 0; i < times.length; i++) {
      let j = i
      while (j < times.length && times[j]! - times[i]! < opts.periodSeconds * 1000) j++
      worst = Math.max(worst, j - i)
    }
  }
  const accepted = load.statusCounts['202'] ?? 0
  const locked = load.statusCounts['429'] ?? 0
  // The consumer may have applied and trimmed some entries already: then the stream cannot show every
  // window, and the check falls back to a bound on the 202s (each content locks after LIMIT votes and
  // stays locked for LOCK_DURATION, so at most 1 + duration / lock windows open per content).
  const seen = [...perContent.values()].reduce((n, t) => n + t.length, 0)
  const bound = opts.limit * hotIds.length * (1 + Math.floor(load.durationSeconds / opts.lockSeconds))
  const checkedBy = seen === accepted ? 'stream windows' : 'accepted count'
  const exact = seen === accepted ? worst <= opts.limit : accepted <= bound
  return {
    name: 'vote-hot', load,
    extra: {
      hotContents: hotIds.length, accepted, refused: locked, maxAcceptedInOneWindow: seen === accepted ? worst : null,
      acceptedBound: bound, checkedBy, limit: opts.limit, exact, windowSpanMs: spanMs,
    },
  }
}

/** Sample the stack once a second while `work` runs; returns the samples and each process's memory growth. */
export async function sampled<T>(
  stack: Stack, work: () => Promise<T>
): Promise<{ value: T; samples: Sample[]; memoryGrowth: Record<string, number> }> {
  const sampler = startSampler(stack.targets.api, stack.targets.consumers)
  let samples: Sample[] = []
  let value: T
  try {
    value = await work()
  } finally {
    samples = sampler.stop()
  }
  const names = Object.keys(samples[0]?.rssMiB ?? {})
  const memoryGrowth = Object.fromEntries(names.map((n) => [n, round(growthAfterWarmup(samples.map((s) => s.rssMiB[n] ?? 0)), 3)]))
  return { value, samples, memoryGrowth }
}

/** Reads on the seeded contents: list page 1 without and with a token, a deep keyset page, and detail. */
export async function read(world: World, opts: BenchOptions, stack: Stack): Promise<ScenarioResult[]> {
  const { first, last } = world.contents
  const deepCursor = encodeCursor({ beforeId: first + 1000 })
  const kinds: [string, () => { path: string; headers?: Record<string, string> }][] = [
    ['read-list', () => ({ path: '/api/contents/' })],
    ['read-list-token', () => ({ path: '/api/contents/', headers: { authorization: `Bearer ${pick(world.tokens)}` } })],
    ['read-deep-keyset', () => ({ path: `/api/contents/?cursor=${deepCursor}` })],
    ['read-detail', () => ({
      path: `/api/contents/${first + Math.floor(Math.random() * (last - first + 1))}/`,
      headers: { authorization: `Bearer ${pick(world.tokens)}` },
    })],
  ]
  const results: ScenarioResult[] = []
  for (const [name, next] of kinds) {
    const meter = await startCpuMeter(stack.cpu)
    const { value: load, samples, memoryGrowth } = await sampled(stack, () =>
      runLoad({ url: stack.url, connections: opts.connections, pipelining: opts.pipelining, durationSeconds: opts.durationSeconds, next }))
    results.push({ name, load, samples, cpu: await meter.stop(load.total), extra: { memoryGrowth } })
  }
  return results
}

/** 80% reads and 20% votes with consumers running: lag must stay bounded and drain fast once the load stops. */
export async function mixed(world: World, opts: BenchOptions, stack: Stack): Promise<ScenarioResult> {
  const { first, last } = world.contents
  const randomId = () => first + Math.floor(Math.random() * (last - first + 1))
  const { value: load, samples, memoryGrowth } = await sampled(stack, () => runLoad({
    url: stack.url, connections: opts.connections, pipelining: opts.pipelining, durationSeconds: opts.durationSeconds,
    next: (): Request => {
      const token = pick(world.tokens)
      const r = Math.random()
      if (r < 0.2) {
        return {
          path: '/api/vote/', method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: `{"content":${randomId()},"score":${Math.floor(Math.random() * 6)}}`,
        }
      }
      if (r < 0.6) return { path: '/api/contents/', headers: { authorization: `Bearer ${token}` } }
      return { path: `/api/contents/${randomId()}/`, headers: { authorization: `Bearer ${token}` } }
    },
  }))
  const lags = samples.map((s) => s.lag + s.pending)
  const quarter = Math.max(1, Math.floor(lags.length / 4))
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0)
  return {
    name: 'mixed', load, samples,
    extra: {
      backlogFirstQuarter: round(mean(lags.slice(0, quarter)), 1), backlogLastQuarter: round(mean(lags.slice(-quarter)), 1),
      maxBacklog: Math.max(0, ...lags), memoryGrowth,
    },
  }
}
