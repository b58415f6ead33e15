import { createRedis } from '../../shared/redis/client.js'
import type { RedisTarget } from '../../shared/redis/target.js'
import { backoffMs } from '../../shared/backoff.js'
import { decodeEntry, type StreamEntry } from '../../consumer/decode.js'
import { CLUSTER_IDLE_POLL_MS } from '../../consumer/stream.js'
import type { PendingStore } from './store.js'
import { readWatermark } from './watermark.js'

export interface TailOptions {
  target: RedisTarget
  connectionName: string
  /** Shard i's stream at index i (keys.stream(i)). */
  streams: readonly string[]
  group: string
  store: PendingStore
  /** How often the group's watermarks are read and the resolved records dropped. */
  sweepMs: number
  /** Entries per stream per read. */
  count?: number
  /**
   * After a read that found some entries but fewer than `count`, wait this long before the next: under a
   * steady trickle each read then takes a batch rather than the one or two entries of a single vote call,
   * which costs Redis and this process less per entry (each read has a fixed cost on both sides). Votes of
   * other processes show here up to this much later; this process's own are recorded by the route at once.
   */
  lingerMs?: number
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void }
}

export interface Tail {
  close(): Promise<void>
}

const RETRY = { baseMs: 50, maxMs: 2000 }

type ReadReply = [name: Buffer, entries: [Buffer, Buffer[]][]][]

/**
 * Every shard's new stream entries, read into the store on a connection of its own, so that this process
 * knows the votes other API processes accepted; and every sweepMs, the records the group has resolved dropped.
 *
 * The read starts from each shard's watermark, at start and after any failure or reconnect, so votes pending
 * before this process started are known too, and a Redis that came back with other contents (a failover, a
 * restart without persistence) is read from where its group stands rather than from a cursor of the old one.
 * Reading from an older point again is harmless: put keeps one record per entry, and none below a watermark.
 *
 * On one Redis, one blocking XREAD over every stream, bounded by the time to the next sweep, which runs in the
 * same loop on the same connection (a blocked connection takes no other command). On a Redis Cluster, one
 * non-blocking read per shard, as the consumer reads (CLUSTER_IDLE_POLL_MS says why).
 */
export function startTail(opts: TailOptions): Tail {
  const { streams, store, group, sweepMs } = opts
  const count = opts.count ?? 1000
  const lingerMs = opts.lingerMs ?? 0
  // No offline queue: without a connection a read fails at once and the loop backs off, rather than waiting in a
  // queue that disconnect() at close would never empty (ioredis rejects queued commands only on a 'close' it never
  // emits while it is still reconnecting).
  const reader = createRedis(opts.target, { name: opts.connectionName, offlineQueue: false })
  const shardOf = new Map(streams.map((stream, shard) => [stream, shard]))
  const cursors = streams.map(() => '0-0')
  let restartDue = true
  const stop = new AbortController()
  let wake: (() => void) | undefined
  let nextSweepAt = 0
  reader.on('ready', () => { restartDue = true })

  const pause = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    wake = () => { clearTimeout(timer); resolve() }
  })

  const sweep = async (restart: boolean) => {
    nextSweepAt = Date.now() + sweepMs
    await Promise.all(streams.map(async (stream, shard) => {
      const mark = await readWatermark(reader, stream, group)
      if (mark !== null) store.dropResolved(shard, mark.watermark)
      if (restart) cursors[shard] = mark?.after ?? '0-0'
    }))
  }

  /** Puts the reply's votes into the store; returns the number of entries of the fullest stream. */
  const ingest = (reply: ReadReply): number => {
    let fullest = 0
    for (const [name, entries] of reply) {
      fullest = Math.max(fullest, entries.length)
      const stream = name.toString('latin1')
      const shard = shardOf.get(stream)
      if (shard === undefined || entries.length === 0) continue
      for (const [rawId, fields] of entries) {
        const vote = decodeEntry(stream, [rawId.toString('latin1'), fields] as StreamEntry)
        // A bad entry is the consumer's to dead-letter; it never was a vote anyone could see.
        if ('reason' in vote) continue
        store.putEntry(vote.userId, vote.contentId, vote.score, shard, vote.ms, vote.seq)
      }
      cursors[shard] = entries[entries.length - 1]![0].toString('latin1')
    }
    return fullest
  }

  const read = async (): Promise<ReadReply> => {
    if (!reader.isCluster) {
      const blockMs = Math.max(1, nextSweepAt - Date.now())
      const reply = await reader.callBuffer('XREAD', 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', ...streams, ...cursors)
      return (reply as ReadReply | null) ?? []
    }
    const replies = await Promise.all(streams.map((stream, shard) =>
      reader.callBuffer('XREAD', 'COUNT', count, 'STREAMS', stream, cursors[shard]!) as Promise<ReadReply | null>))
    const reply = replies.flatMap((r) => r ?? [])
    if (reply.length === 0 && !stop.signal.aborted) await pause(Math.min(CLUSTER_IDLE_POLL_MS, Math.max(1, nextSweepAt - Date.now())))
    return reply
  }

  const run = async () => {
    let failures = 0
    while (!stop.signal.aborted) {
      // Until connected (at start, or Redis away): wait for 'ready' rather than fail reads and log it.
      if (reader.status !== 'ready') {
        await new Promise<void>((resolve) => {
          const ready = () => { wake = undefined; resolve() }
          reader.once('ready', ready)
          wake = () => { reader.off('ready', ready); resolve() }
        })
        continue
      }
      try {
        if (restartDue) {
          restartDue = false
          await sweep(true)
        }
        const reply = await read()
        if (stop.signal.aborted) break
        const entries = ingest(reply)
        if (lingerMs > 0 && entries > 0 && entries < count) await pause(lingerMs)
        if (Date.now() >= nextSweepAt) await sweep(false)
        if (failures > 0) opts.log.info({ failures }, 'pending votes: reading the vote streams again')
        failures = 0
      } catch (err) {
        if (stop.signal.aborted) break
        // The cursors stay: a failed read (a slot moving, a failover under way) loses no entry, and reading every shard
        // again from its watermark after each one made a busy tail re-read whole streams. A Redis that lost its data
        // comes back through a reconnect, and 'ready' restarts from the watermarks.
        if (failures === 0) opts.log.warn({ err: (err as Error).message }, 'pending votes: reading the vote streams failed; retrying')
        await pause(backoffMs(failures++, RETRY))
      }
    }
  }
  const running = run()

  return {
    async close() {
      stop.abort()
      // Not QUIT: it would wait behind a blocked XREAD. The read in flight fails, and the loop sees the abort.
      reader.disconnect()
      wake?.()
      await running
    },
  }
}
