import { readFileSync } from 'node:fs'
import { Cluster, Redis, type ClusterOptions, type RedisOptions, type Result } from 'ioredis'
import { backoffMs } from '../backoff.js'
import { withTimeout } from '../timeout.js'
import type { ClusterTarget, RedisTarget } from './target.js'

/** One Redis server or a Redis Cluster: every command tally sends works on both (keys of one command share a slot). */
export type RedisClient = Redis | Cluster

export interface RedisClientOptions {
  /** Bound on every command: a stalled Redis turns into an error instead of a hung request. */
  commandTimeoutMs?: number
  /**
   * false: while disconnected, commands fail at once instead of queueing until Redis returns.
   * The API wants that (fail fast with 503, rate limiter fails open); blocking readers do not.
   */
  offlineQueue?: boolean
  autoPipelining?: boolean
  name?: string
}

// Reconnect forever with a capped back-off: the processes recover by themselves when Redis is back.
// ioredis counts attempts from 1; the first waits 50 ms, then 100, 200 … up to 2 s.
const RECONNECT_BACKOFF = { baseMs: 50, maxMs: 2000 }
// While Redis is away, a queued command fails after this many reconnects: about 9 s of back-off
// (50 ms + 100 + … + 1600 + 3 × 2000), and its caller retries by its own rule (the consumer logs each
// retry). The API queues nothing (offlineQueue: false).
const QUEUED_COMMAND_RECONNECTS = 9
// A Cluster client that lost every node: 100, 200, 400 … ms, at most 2 s.
const CLUSTER_RECONNECT_BACKOFF = { baseMs: 100, maxMs: 2000 }

const script = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8')

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** shared/redis/trim.lua: XTRIM MINID below what every group still needs; returns the threshold. */
    trimAcked(stream: string): Result<string, Context>
  }
}

export function createRedis(url: string, opts?: RedisClientOptions): Redis
export function createRedis(target: RedisTarget, opts?: RedisClientOptions): RedisClient
export function createRedis(target: string | RedisTarget, opts: RedisClientOptions = {}): RedisClient {
  const options: RedisOptions = {
    connectionName: opts.name,
    enableOfflineQueue: opts.offlineQueue ?? true,
    enableAutoPipelining: opts.autoPipelining ?? false,
    commandTimeout: opts.commandTimeoutMs,
    connectTimeout: Math.max(1000, opts.commandTimeoutMs ?? 0),
    maxRetriesPerRequest: opts.offlineQueue === false ? 0 : QUEUED_COMMAND_RECONNECTS,
    retryStrategy: (attempt) => backoffMs(attempt - 1, RECONNECT_BACKOFF),
  }
  const redis = typeof target === 'string'
    ? new Redis(target, options)
    : 'url' in target
      ? new Redis(target.url, options)
      : new Cluster(target.cluster.nodes, clusterOptions(target.cluster, options))
  // Without a listener ioredis prints every failed reconnect; the owners log state changes instead.
  redis.on('error', () => {})
  // Defined once per client: ioredis sends EVALSHA, and reloads the script by itself after NOSCRIPT
  // (on a cluster, on whichever master a shard's slot has moved to).
  // castVotes takes its number of keys first: a batch has two per vote.
  redis.defineCommand('castVotes', { lua: script('vote.lua') })
  redis.defineCommand('trimAcked', { numberOfKeys: 1, lua: script('trim.lua') })
  return redis
}

/**
 * A Cluster client that behaves as the single-server one does: the same per-node options, and a failover
 * (a master gone, its replica not yet promoted) retried in short steps so a command follows the slot to
 * its new master within the command timeout, rather than after the defaults' seconds.
 */
function clusterOptions(target: ClusterTarget, options: RedisOptions): ClusterOptions {
  // The cluster client reconnects nodes itself, from the slots it learns, and keeps its own offline queue.
  const { retryStrategy: _ownRetries, enableOfflineQueue, ...node } = options
  return {
    redisOptions: {
      ...node,
      username: target.username,
      password: target.password,
      tls: target.tls ? {} : undefined,
    },
    enableOfflineQueue,
    enableAutoPipelining: node.enableAutoPipelining,
    // Auto-pipelining routes a command by its first key, which for a script of variable key count it takes to be
    // the count ("10"): castVotes would join the pipeline of another slot and be refused. The vote caller batches
    // each shard's votes of an event-loop turn into one call anyway (shared/redis/vote-script.ts).
    autoPipeliningIgnoredCommands: ['castVotes'],
    // Only masters: a replica answers reads of data it may not have yet.
    scaleReads: 'master',
    clusterRetryStrategy: (attempt) => backoffMs(attempt - 1, CLUSTER_RECONNECT_BACKOFF),
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: Math.max(1000, node.commandTimeout ?? 0),
    // TLS endpoints are names that must reach the server as typed (SNI); resolving them first breaks that.
    dnsLookup: (address, callback) => callback(null, address, 0),
  }
}

/** Wait until the client is ready, or give up after `timeoutMs` (the caller decides whether that is fatal). */
export function waitForReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      resolve(ok)
    }
    const onReady = () => done(true)
    const timer = setTimeout(() => done(false), timeoutMs)
    redis.on('ready', onReady)
  })
}

/**
 * QUIT when connected (pending replies arrive first), else drop the socket and stop reconnecting:
 * a QUIT sent while Redis is away would wait for a reconnect that may never come.
 */
export async function closeRedis(redis: RedisClient, timeoutMs = 2000): Promise<void> {
  if (redis.status === 'end') return
  if (redis.status !== 'ready') {
    redis.disconnect()
    return
  }
  try {
    await withTimeout(redis.quit(), timeoutMs, 'redis quit')
  } catch {
    redis.disconnect()
  }
}
