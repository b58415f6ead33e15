import { sql } from 'drizzle-orm'
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import type { Db } from '../shared/db/client.js'
import { arrayLiteral } from '../shared/db/array-literal.js'
import { entryVersion } from '../shared/entry-version.js'
import type { RedisClient } from '../shared/redis/client.js'
import { fieldsToRecord, groupInfo } from '../shared/redis/stream-info.js'

/**
 * The whole-path check of one stream shard. Every entry the stream ever took is, at any moment, exactly one of:
 * recorded in PostgreSQL by the consumer that resolved it (consumer/ledger.ts), pending (delivered, not
 * acknowledged), or undelivered. Entries both recorded and pending (committed, XACK not yet through) are
 * counted once. So
 *
 *   entries-added = baseline + recorded + pending + undelivered − recorded-and-pending
 *
 * and `unaccounted` is the left side minus the right: above 0, entries went missing from the stream before
 * a consumer resolved them (deleted, trimmed, lost in a failover or with an AOF's last second); below 0,
 * PostgreSQL recorded more than the stream now says it took: the stream began again, Redis lost its data.
 */
export interface StreamLedger {
  stream: string
  /** XINFO STREAM entries-added: every entry the stream took since it was created (0: no stream). */
  added: number
  recorded: number
  pending: number
  undelivered: number
  /** Recorded entries still pending (their XACK has not been seen, or a failover lost it). */
  recordedPending: number
  baseline: number
  unaccounted: number
  /** When the Redis server holding the stream started (ISO), told when it seems to have lost its data. */
  serverUpSince?: string
}

// Undelivered entries are counted page by page when the group cannot say (its lag is unknown after deletions),
// and pending ones are listed page by page.
const RANGE_PAGE = 10_000

async function streamAdded(redis: RedisClient, stream: string): Promise<{ added: number; exists: boolean }> {
  if (!(await redis.exists(stream))) return { added: 0, exists: false }
  const info = fieldsToRecord(await redis.xinfo('STREAM', stream) as unknown[])
  return { added: Number(info['entries-added'] ?? 0), exists: true }
}

async function countAfter(redis: RedisClient, stream: string, lastDelivered: string): Promise<number> {
  let from = `(${lastDelivered}`
  let n = 0
  for (;;) {
    const page = await redis.xrange(stream, from, '+', 'COUNT', RANGE_PAGE)
    n += page.length
    if (page.length < RANGE_PAGE) return n
    from = `(${page[page.length - 1]![0]}`
  }
}

/** The versions of the entries pending in the group (those with one: shared/entry-version.ts). */
async function pendingVersions(redis: RedisClient, stream: string, group: string): Promise<bigint[]> {
  const versions: bigint[] = []
  let from = '-'
  for (;;) {
    const page = await redis.xpending(stream, group, from, '+', RANGE_PAGE) as [string, ...unknown[]][]
    for (const [id] of page) {
      const v = entryVersion(id)
      if (v !== null) versions.push(v)
    }
    if (page.length < RANGE_PAGE) return versions
    from = `(${page[page.length - 1]![0]}`
  }
}

/**
 * How many pending entries are recorded, as the consumers keep it (consumer/ledger.ts): those with a row in
 * recorded_entries, and those below the stream's horizon (recorded and acknowledged; pending again only if a
 * Redis failover lost the acknowledgement). Rows of recorded_batches count too: consumers from before
 * migration 0011 wrote them, and the first consumer of the new release moves them.
 */
async function recordedAndPending(db: Db, redis: RedisClient, stream: string, group: string): Promise<number> {
  const versions = await pendingVersions(redis, stream, group)
  if (versions.length === 0) return 0
  const [row] = await db.execute<{ n: number }>(sql`
    select count(*)::int as n from unnest(${arrayLiteral(versions)}::int8[]) as p(version)
    where p.version < coalesce((select recorded_below from stream_horizons where stream = ${stream}), 0)
      or exists (select 1 from recorded_entries e where e.stream = ${stream} and e.version = p.version)
      or exists (select 1 from recorded_batches b where b.stream = ${stream} and p.version = any(b.entries))`)
  return row!.n
}

/** The server a stream lives on: the Redis itself, or the cluster master of its slot. */
function serverOf(redis: RedisClient, stream: string): Redis | undefined {
  if (!redis.isCluster) return redis as Redis
  const cluster = redis as Cluster
  const owner = cluster.slots[calculateSlot(stream)]?.[0]
  return cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner)
}

/** When that server started: a Redis that restarted without its data lost it then (or someone deleted the stream since). */
async function upSince(redis: RedisClient, stream: string): Promise<string | undefined> {
  const server = serverOf(redis, stream)
  const uptime = Number(/^uptime_in_seconds:(\d+)/m.exec(await server?.info('server') ?? '')?.[1])
  return Number.isFinite(uptime) ? new Date(Date.now() - uptime * 1000).toISOString() : undefined
}

export async function checkStreamLedger(db: Db, redis: RedisClient, stream: string, group: string): Promise<StreamLedger> {
  const [{ added, exists }, info, [sums]] = await Promise.all([
    streamAdded(redis, stream),
    groupInfo(redis, stream, group),
    db.execute<{ recorded: string; baseline: string }>(sql`
      select coalesce((select sum(recorded) from stream_entries where stream = ${stream}), 0)::text as recorded,
        coalesce((select "offset" from stream_baselines where stream = ${stream}), 0)::text as baseline`),
  ])
  const pending = info?.pending ?? 0
  const undelivered = info === null
    ? (exists ? await countAfter(redis, stream, '0-0') : 0)
    : info.lag ?? await countAfter(redis, stream, info.lastDelivered)
  const recordedPending = pending > 0 ? await recordedAndPending(db, redis, stream, group) : 0
  const recorded = Number(sums!.recorded)
  const baseline = Number(sums!.baseline)
  const unaccounted = added - (baseline + recorded + pending + undelivered - recordedPending)
  const ledger: StreamLedger = { stream, added, recorded, pending, undelivered, recordedPending, baseline, unaccounted }
  if (unaccounted < 0) ledger.serverUpSince = await upSince(redis, stream).catch(() => undefined)
  return ledger
}

export function formatLedgerLines(ledger: readonly StreamLedger[]): string[] {
  return ledger.map((l) => {
    const head = `ledger ${l.stream}: took ${l.added}; recorded ${l.recorded}${l.baseline ? ` (baseline ${l.baseline})` : ''}, ` +
      `pending ${l.pending}${l.recordedPending ? ` (${l.recordedPending} of them recorded)` : ''}, undelivered ${l.undelivered}`
    if (l.unaccounted > 0) {
      return `${head}: ${l.unaccounted} entries UNACCOUNTED FOR: the stream took them and no consumer recorded them, ` +
        'nor are they pending or waiting: they were deleted or lost before they were applied'
    }
    if (l.unaccounted < 0) {
      const when = l.serverUpSince ? ` at or before ${l.serverUpSince}, when its server started (unless the stream was deleted since)` : ''
      return `${head}: PostgreSQL recorded ${-l.unaccounted} more entries than the stream says it took: REDIS LOST ITS DATA${when}; ` +
        'the stream was created again, and the votes it held unapplied are gone. Once every shard is drained, ' +
        '`npm run audit -- --baseline` accepts the new start'
    }
    return `${head}: every entry accounted for`
  })
}

/**
 * `--baseline`: with every shard drained (nothing pending or undelivered), take each stream's count as it
 * is, so entries taken before the ledger existed, or lost in an incident already looked into, stop counting.
 * Returns a line per stream saying what was set, or why not.
 */
export async function setBaselines(db: Db, redis: RedisClient, streams: readonly string[], group: string): Promise<string[]> {
  const lines: string[] = []
  for (const stream of streams) {
    const l = await checkStreamLedger(db, redis, stream, group)
    if (l.pending > 0 || l.undelivered > 0) {
      lines.push(`baseline of ${stream} not set: ${l.pending} pending and ${l.undelivered} undelivered entries; drain it first`)
      continue
    }
    const offset = l.added - l.recorded
    await db.execute(sql`insert into stream_baselines (stream, "offset") values (${stream}, ${offset})
      on conflict (stream) do update set "offset" = excluded."offset", set_at = now()`)
    lines.push(`baseline of ${stream} set to ${offset} (it took ${l.added}, consumers recorded ${l.recorded})`)
  }
  return lines
}
