import type { RedisClient } from '../shared/redis/client.js'
import type { StreamEntry } from './decode.js'

export interface StreamSettings {
  group: string
  consumer: string
  batchSize: number
  blockMs: number
  /** After a read shorter than batchSize, wait this long and read again to fill the batch (0: never). */
  lingerMs: number
  claimIdleMs: number
  maxDeliveries: number
  deadLetters: string
  /** Dead letters kept (approximately) before the oldest are dropped. */
  deadLetterMaxLen: number
}

export interface Batch {
  stream: string
  entries: StreamEntry[]
  /** Entries this consumer took over from a dead or stuck one, and how often each was delivered. */
  deliveries?: Map<string, number>
}

/** XGROUP CREATE … MKSTREAM, from the start of the stream; BUSYGROUP (it exists) is fine, nothing else is. */
export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM')
  } catch (err) {
    if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err
  }
}

/** The error a group command gets once the stream or its group is gone: Redis lost its data (a restart without persistence). */
export const isNoGroup = (err: unknown): boolean => String((err as Error)?.message).startsWith('NOGROUP')

/**
 * Make the stream and group of every stream again after a NOGROUP. A failure is left for later: the
 * next command on a missing group gets NOGROUP again, and with it another attempt.
 */
export async function recreateGroups(redis: RedisClient, streams: readonly string[], group: string): Promise<void> {
  await Promise.all(streams.map((s) => ensureGroup(redis, s, group))).catch(() => {})
}

/**
 * Leave the group tidy at shutdown: a consumer with nothing pending is forgotten; one with pending
 * entries is kept, since deleting it would drop them from the PEL (they must stay to be taken over).
 */
export async function leaveGroup(redis: RedisClient, streams: readonly string[], group: string, consumer: string): Promise<void> {
  if (redis.status !== 'ready') return
  try {
    for (const stream of streams) {
      const [count] = await redis.xpending(stream, group, '-', '+', 1, consumer) as unknown[]
      if (count === undefined) await redis.xgroup('DELCONSUMER', stream, group, consumer)
    }
  } catch { /* Redis gone meanwhile: the stale name is harmless */ }
}

/**
 * New entries for this consumer from every stream (shard) in one XREADGROUP, blocking up to blockMs
 * for the first to arrive in any of them: one batch per stream that had entries, each at most
 * batchSize (COUNT is per stream), in the order of `streams`. One call over every shard, rather than
 * one per shard in turn, so an idle shard's BLOCK never delays a busy one's entries. Uses the blocking
 * connection. On a Redis Cluster, one read per shard instead (CLUSTER_IDLE_POLL_MS says why).
 * A short read means votes trickle in: rather than pay a transaction and a commit flush for a handful
 * of votes, linger once and top the batches up. Under a steady load this turns many tiny transactions
 * into a few large ones (PostgreSQL's cost is mostly per statement and per commit), at the price of
 * lingerMs more before a vote is applied.
 */
export async function readNew(
  blocking: RedisClient, streams: readonly string[], s: StreamSettings, signal?: AbortSignal
): Promise<Batch[]> {
  const byStream = new Map<string, StreamEntry[]>()
  const read = async (count: number, blockMs?: number): Promise<number> => {
    let longest = 0
    for (const [name, got] of await readGroup(blocking, streams, s, count, blockMs)) {
      const entries = got as unknown as StreamEntry[]
      if (entries.length === 0) continue
      for (const entry of entries) entry[0] = (entry[0] as unknown as Buffer).toString('latin1')
      const stream = name.toString('latin1')
      const held = byStream.get(stream)
      if (held) held.push(...entries)
      else byStream.set(stream, entries)
      longest = Math.max(longest, held?.length ?? entries.length)
    }
    return longest
  }
  const longest = await read(s.batchSize, s.blockMs)
  if (longest === 0) {
    // A cluster's reads do not block (below): an idle round waits here instead, so idle consumers do not spin.
    if (blocking.isCluster && !signal?.aborted) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(s.blockMs, CLUSTER_IDLE_POLL_MS)))
    }
    return []
  }
  // Topped up by at most what the fullest stream has room for, so no batch exceeds batchSize.
  if (longest < s.batchSize && s.lingerMs > 0 && !signal?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, s.lingerMs))
    await read(s.batchSize - longest)
  }
  return streams.filter((stream) => byStream.has(stream)).map((stream) => ({ stream, entries: byStream.get(stream)! }))
}

/**
 * On a Redis Cluster an idle consumer asks every shard this often. A cluster refuses one XREADGROUP over
 * streams in different slots (CROSSSLOT), and a blocking read per shard would hold the one connection
 * the client keeps to each master, delaying every other shard on that master by up to CONSUMER_BLOCK_MS.
 * So on a cluster each shard is read without BLOCK, all at once (pipelined per master), and a round that
 * finds nothing waits this long: a vote arriving at an idle consumer waits up to this much more, and each
 * idle consumer sends VOTE_STREAM_SHARDS reads per poll (6 shards: 240 small commands a second).
 */
export const CLUSTER_IDLE_POLL_MS = 25

type GroupReply = [name: Buffer, entries: [Buffer, Buffer[]][]][]

/**
 * XREADGROUP … STREAMS over every stream. The Buffer reply: field names and values stay Buffers for
 * decodeEntry to read in place; only ids become strings (for XACK, logs and dead letters). ioredis reads
 * replies as Buffers anyway and the string reply converts each of them: 2.9 µs of CPU per entry of a
 * 2,000-entry read as strings, 1.6 as Buffers (measured), against a consumer total of about 7 µs per vote.
 */
async function readGroup(
  redis: RedisClient, streams: readonly string[], s: StreamSettings, count: number, blockMs?: number
): Promise<GroupReply> {
  const command = (names: readonly string[], block?: number) => (block === undefined
    ? redis.callBuffer('XREADGROUP', 'GROUP', s.group, s.consumer, 'COUNT', count, 'STREAMS', ...names, ...names.map(() => '>'))
    : redis.callBuffer('XREADGROUP', 'GROUP', s.group, s.consumer, 'COUNT', count, 'BLOCK', block,
      'STREAMS', ...names, ...names.map(() => '>'))) as Promise<GroupReply | null>
  if (!redis.isCluster) return (await command(streams, blockMs)) ?? []
  const replies = await Promise.all(streams.map((stream) => command([stream])))
  return replies.flatMap((reply) => reply ?? [])
}

/**
 * Take over entries another consumer left pending for claimIdleMs (it died, or is stuck), with their
 * delivery counts, so the caller can dead-letter those delivered too often. `cursor` walks the PEL.
 */
export async function claimStale(
  redis: RedisClient, stream: string, s: StreamSettings, cursor: string
): Promise<{ batch: Batch | null; cursor: string }> {
  const [next, claimed, deletedIds] = await redis.xautoclaim(stream, s.group, s.consumer, s.claimIdleMs, cursor, 'COUNT', s.batchSize) as
    [string, (StreamEntry | null)[], string[]?]
  // Entries trimmed while pending come back as ids only (Redis 7 removes them from the PEL itself).
  void deletedIds
  const entries = claimed.filter((e): e is StreamEntry => Array.isArray(e) && Array.isArray(e[1]))
  if (entries.length === 0) return { batch: null, cursor: next }
  return { batch: { stream, entries, deliveries: await deliveryCounts(redis, stream, s, entries.map(([id]) => id)) }, cursor: next }
}

const PENDING_PAGE = 1000

/**
 * Entries pending under this consumer's own name, taken back at start: names are unique per live process, so
 * such entries were left by an earlier process of the same name that died (npm start restarts a consumer under
 * its name). Taking them at once, rather than waiting out CONSUMER_CLAIM_IDLE_MS for someone to claim them,
 * applies them within the restart. XCLAIM counts the delivery, so the max-deliveries check still holds.
 */
export async function claimOwn(redis: RedisClient, stream: string, s: StreamSettings): Promise<Batch | null> {
  const pending = await redis.xpending(stream, s.group, '-', '+', s.batchSize, s.consumer) as [string, string, number, number][]
  if (pending.length === 0) return null
  const ids = pending.map(([id]) => id)
  const claimed = await redis.xclaim(stream, s.group, s.consumer, 0, ...ids) as (StreamEntry | null)[]
  const entries = claimed.filter((e): e is StreamEntry => Array.isArray(e) && Array.isArray(e[1]))
  // Ids whose entry was trimmed meanwhile: XCLAIM drops them from the PEL (Redis 7), and there is nothing to apply.
  if (entries.length === 0) return null
  return { stream, entries, deliveries: await deliveryCounts(redis, stream, s, entries.map(([id]) => id)) }
}

/**
 * How often each of `ids` (ascending, pending on this consumer) has been delivered. The consumer may hold
 * other pending entries between them (an ack that failed earlier), so XPENDING is paged over the range
 * until every id is found, rather than read once with a count that could stop short and leave an entry
 * without its count (taken as 1: a round of the max-deliveries check skipped).
 */
async function deliveryCounts(redis: RedisClient, stream: string, s: StreamSettings, ids: readonly string[]): Promise<Map<string, number>> {
  const wanted = new Set(ids)
  const counts = new Map<string, number>()
  let from = ids[0]!
  for (;;) {
    const page = await redis.xpending(stream, s.group, from, ids[ids.length - 1]!, PENDING_PAGE, s.consumer) as
      [string, string, number, number][]
    for (const [id, , , count] of page) if (wanted.has(id)) counts.set(id, count)
    if (page.length < PENDING_PAGE || counts.size === wanted.size) return counts
    from = `(${page[page.length - 1]![0]}` // exclusive start: the page after the last id seen
  }
}

/**
 * Keep a batch in hand ours while it takes long (PostgreSQL away, a row lock held elsewhere): every
 * claimIdleMs / 3, XCLAIM … JUSTID resets the entries' idle time without counting a delivery. Without
 * it another consumer would take a live consumer's batch for a dead one's, and with enough consumers and
 * a long enough outage the entries would pass CONSUMER_MAX_DELIVERIES and be dead-lettered, never
 * applied. A consumer that really died stops renewing, so its entries are still taken over in time.
 * Returns the function that stops renewing.
 */
export function holdEntries(redis: RedisClient, stream: string, s: StreamSettings, ids: readonly string[]): () => void {
  if (ids.length === 0) return () => {}
  const timer = setInterval(() => {
    redis.xclaim(stream, s.group, s.consumer, 0, ...ids, 'JUSTID').catch(() => { /* Redis away: nobody can claim them either */ })
  }, Math.max(50, Math.floor(s.claimIdleMs / 3)))
  timer.unref()
  return () => clearInterval(timer)
}

export async function ack(redis: RedisClient, stream: string, group: string, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await redis.xack(stream, group, ...ids)
}
