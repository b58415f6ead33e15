import { ReplyError, type Command } from 'ioredis'
import { Counter, Registry, collectDefaultMetrics } from 'prom-client'
import type { RedisClient } from './redis/client.js'

/*
 * What the API's and the consumer's metrics have in common: Node's process metrics, and the errors of
 * their Redis commands.
 */

export type Service = 'api' | 'consumer'

/**
 * A registry with Node's default metrics under their standard names (process_cpu_seconds_total,
 * nodejs_heap_size_used_bytes, …: no prefix, so stock Node dashboards and alerts work), labelled
 * service="api" or "consumer" to tell the two apart where one Prometheus job scrapes both.
 */
export function createRegistry(service: Service, supervisorRestarts = 0): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, labels: { service } })
  // A restarted process starts its counters afresh, so the supervisor hands it the count so far: the
  // series keeps rising across restarts (a crash loop shows as a rate), from the same start as the rest.
  new Counter({
    name: 'tally_supervisor_restarts_total',
    help: 'Times the supervisor (npm start) restarted this process after it exited, before this start',
    labelNames: ['service'],
    registers: [registry],
    // API workers of one node:cluster primary all carry the primary's count: the cluster's is one of them.
    aggregator: 'max',
  }).inc({ service }, supervisorRestarts)
  return registry
}

export const REDIS_ERROR_KINDS = ['timeout', 'connection', 'reply'] as const
export type RedisErrorKind = (typeof REDIS_ERROR_KINDS)[number]

/**
 * Replies that are answers, not failures: BUSYGROUP is how creating the consumer group learns that it
 * exists (every consumer start), NOSCRIPT how ioredis learns to send a script's body (it does, at once).
 */
const EXPECTED_REPLY = /^(BUSYGROUP|NOSCRIPT) /

/**
 * What kind of failure a rejected command had: no answer within the command timeout, no connection
 * to send it on (or it closed before the answer came), or an error reply from Redis; null for the
 * expected replies above.
 */
export function redisErrorKind(err: Error): RedisErrorKind | null {
  if (err instanceof ReplyError) return EXPECTED_REPLY.test(err.message) ? null : 'reply'
  return err.message === 'Command timed out' ? 'timeout' : 'connection'
}

/**
 * Count every failed command of `redis` in tally_redis_command_errors_total{service, client, kind}.
 * ioredis has no event for a failed command, and its diagnostics_channel tracing sees only the commands
 * it writes (not those refused while disconnected) and builds a context object for every one; so each
 * command's reject is wrapped as it is sent, one closure per command (measured: +0.2 µs of CPU per
 * command, against 3.7 µs for a pipelined EXISTS). Each command counts once: a late second reject (a
 * connection closing after a timeout) is not counted, nor is a re-sent command (offline queue,
 * reconnect) wrapped twice over, which the errors already counted tell apart without a mark per command.
 */
export function countRedisErrors(registry: Registry, service: Service, clients: Record<string, RedisClient>): void {
  const counter = (registry.getSingleMetric('tally_redis_command_errors_total') as Counter<'service' | 'client' | 'kind'> | undefined) ??
    new Counter({
      name: 'tally_redis_command_errors_total',
      help: 'Redis commands that failed, by client and kind: timeout (no answer in time), ' +
        'connection (none to send on, or it closed), reply (an error from Redis)',
      labelNames: ['service', 'client', 'kind'],
      registers: [registry],
    })
  const counted = new WeakSet<object>()
  for (const [client, redis] of Object.entries(clients)) {
    const byKind = new Map(REDIS_ERROR_KINDS.map((kind) => [kind, counter.labels(service, client, kind)] as const))
    for (const child of byKind.values()) child.inc(0)
    // A Cluster client's sendCommand takes a third argument (the node), passed through untouched.
    const sender = redis as unknown as { sendCommand: (command: Command, ...rest: unknown[]) => unknown }
    const send = sender.sendCommand
    sender.sendCommand = function (this: unknown, command, ...rest) {
      // ioredis names itself with CLIENT SETINFO on every connect and ignores a Redis too old to know it.
      if (command.name === 'client' && String(command.args[0]).toLowerCase() === 'setinfo') return send.call(this, command, ...rest)
      const reject = command.reject
      let settled = false
      command.reject = (err: Error) => {
        if (!settled && typeof err === 'object' && err !== null && !counted.has(err)) {
          counted.add(err)
          const kind = redisErrorKind(err)
          if (kind !== null) byKind.get(kind)!.inc()
        }
        settled = true
        reject(err)
      }
      return send.call(this, command, ...rest)
    }
  }
}
