import type { Redis } from 'ioredis'
import type { BenchOptions } from './args.js'
import { runLoad, type LoadResult } from './load.js'
import { startProcess, type Running } from './processes.js'
import type { World } from './world.js'

export interface ScenarioResult {
  name: string
  /** Absent for scenarios that are not HTTP load (drain). */
  load?: LoadResult
  /** Scenario-specific checks and figures (drain time, lock exactness …). */
  extra: Record<string, unknown>
}

export interface Stack { url: string; api: Running; consumers: Running[]; stop(): Promise<void> }

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!

/** The API (and consumers) on this bench's world; `env` overrides thresholds and the like. */
export async function startStack(world: World, opts: BenchOptions, port: number, env: Record<string, string> = {}): Promise<Stack> {
  const common = {
    NODE_ENV: 'production', DATABASE_URL: world.databaseUrl, REDIS_URL: world.redisUrl, REDIS_PREFIX: world.prefix, JWT_SECRET: world.secret,
    LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000000', REDIS_AUTO_PIPELINING: String(opts.autoPipelining), ...env,
  }
  const url = `http://127.0.0.1:${port}`
  const api = await startProcess('server/main.ts', { ...common, HOST: '127.0.0.1', PORT: String(port) }, `${url}/health/ready`)
  const consumers = await Promise.all(Array.from({ length: opts.consumers }, () => startProcess('consumer/main.ts', { ...common, CONSUMER_METRICS_PORT: '0' })))
  return { url, api, consumers, async stop() { await Promise.all([api.stop(), ...consumers.map((c) => c.stop())]) } }
}

export async function baseline(opts: BenchOptions, port: number): Promise<ScenarioResult> {
  const server = await startProcess('bench/baseline-server.ts', {}, `http://127.0.0.1:${port}/`, [String(port)])
  try {
    // Requests are built per call, as in every other scenario, so the load generator's own cost
    // (it shares the machine) weighs the same on both sides of a ratio.
    const load = await runLoad({
      url: `http://127.0.0.1:${port}/`, connections: opts.connections, pipelining: opts.pipelining, durationSeconds: opts.durationSeconds,
      next: () => ({ path: '/', headers: { authorization: `Bearer ${Math.random()}` } }),
    })
    return { name: 'baseline', load, extra: {} }
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
  return { name: 'vote-spread', load, extra: { accepted: load.statusCounts['202'] ?? 0, acceptedPerSecond: Math.round((load.statusCounts['202'] ?? 0) / load.durationSeconds) } }
}

/**
 * Everyone votes on a few contents with real thresholds: the lock must engage exactly (at most LIMIT
 * accepted per content per window, checked from the stream itself), and refusals must be as fast as acceptances.
 */
export async function voteHot(world: World, opts: BenchOptions, stack: Stack, redis: Redis, hotIds: number[]): Promise<ScenarioResult> {
  const streamKey = `${world.prefix}votes:{0}`
  const startId = `${Date.now()}-0`
  const load = await runLoad({
    url: stack.url, method: 'POST', connections: opts.connections, pipelining: opts.pipelining, durationSeconds: opts.durationSeconds,
    next: () => ({
      path: '/api/vote/',
      headers: { authorization: `Bearer ${pick(world.tokens)}`, 'content-type': 'application/json' },
      body: `{"content":${pick(hotIds)},"score":${Math.floor(Math.random() * 6)}}`,
    }),
  })
  const entries = await redis.xrange(streamKey, startId, '+')
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
  return {
    name: 'vote-hot', load,
    extra: { hotContents: hotIds.length, accepted, refused: locked, maxAcceptedInOneWindow: worst, limit: opts.limit, exact: worst <= opts.limit, windowSpanMs: spanMs },
  }
}
