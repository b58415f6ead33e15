import { EventEmitter } from 'node:events'
import { Redis, type Cluster } from 'ioredis'
import { closeRedis, createRedis } from '../../shared/redis/client.js'
import type { ClusterTarget, RedisTarget } from '../../shared/redis/target.js'
import { backoffMs } from '../../shared/backoff.js'

/**
 * A pub/sub connection whose owner must know when messages may have been missed: it emits 'close'
 * when the connection drops (anything published from then on may be lost to it) and 'ready' when a
 * connection is back, on which the owner subscribes again and reloads what it holds (change-listener.ts).
 */
export interface Subscriber {
  readonly status: string
  on(event: 'message', listener: (channel: string, message: string) => void): void
  on(event: 'ready' | 'close', listener: () => void): void
  subscribe(...channels: string[]): Promise<unknown>
  close(): Promise<void>
}

export function createSubscriber(target: RedisTarget, name: string, cluster?: Cluster): Subscriber {
  if ('url' in target) {
    const redis = createRedis(target.url, { name })
    return Object.assign(redis, { close: () => closeRedis(redis) }) as unknown as Subscriber
  }
  return new ClusterNodeSubscriber(target.cluster, name, cluster)
}

const RECONNECT_BASE_MS = 50
const RECONNECT_MAX_MS = 2000

/**
 * Subscribed on one node of a Redis Cluster, any node: a cluster hands every PUBLISH to all its nodes.
 * ioredis' own Cluster subscriber moves to another node by itself when its node goes, but says nothing,
 * and the messages published in between are lost unseen: a cached page would show a vote count or a
 * lock as it was until READ_CACHE_MS ran out. This one says 'close', then connects to the next node
 * it knows (the start-up list and every node the cluster client has learnt), and says 'ready' there.
 */
class ClusterNodeSubscriber extends EventEmitter implements Subscriber {
  private redis: Redis | undefined
  private next = 0
  private attempts = 0
  private closed = false
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly target: ClusterTarget, private readonly name: string, private readonly cluster?: Cluster) {
    super()
    this.connect()
  }

  get status(): string {
    return this.redis?.status ?? 'connecting'
  }

  subscribe(...channels: string[]): Promise<unknown> {
    return this.redis === undefined ? Promise.reject(new Error('subscriber not connected')) : this.redis.subscribe(...channels)
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    if (this.redis) await closeRedis(this.redis)
  }

  private candidates(): { host: string; port: number }[] {
    const known = new Map(this.target.nodes.map((n) => [`${n.host}:${n.port}`, n]))
    for (const node of this.cluster?.nodes('all') ?? []) {
      const { host, port } = node.options
      if (host !== undefined && port !== undefined) known.set(`${host}:${port}`, { host, port })
    }
    return [...known.values()]
  }

  private connect(): void {
    const nodes = this.candidates()
    const node = nodes[this.next++ % nodes.length]!
    const redis = new Redis({
      host: node.host, port: node.port, username: this.target.username, password: this.target.password,
      tls: this.target.tls ? {} : undefined, connectionName: this.name, connectTimeout: 1000,
      // This connection never reconnects itself: the next one goes to another node, which may be the live one.
      retryStrategy: () => null,
    })
    this.redis = redis
    redis.on('error', () => {})
    redis.on('ready', () => {
      this.attempts = 0
      this.emit('ready')
    })
    redis.on('message', (channel: string, message: string) => this.emit('message', channel, message))
    redis.once('end', () => {
      this.emit('close')
      if (this.closed) return
      const delay = backoffMs(this.attempts++, { baseMs: RECONNECT_BASE_MS, maxMs: RECONNECT_MAX_MS })
      this.timer = setTimeout(() => this.connect(), delay)
      this.timer.unref()
    })
  }
}
