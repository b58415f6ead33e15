import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../shared/db/client.js'
import { entryVersion, thresholdVersion } from '../shared/entry-version.js'
import type { Batch } from './stream.js'
import { arrayLiteral } from '../shared/db/array-literal.js'

/**
 * What one batch adds to the whole-path ledger (stream_entries, recorded_entries, stream_horizons: schema.ts),
 * written by the statement that commits the batch (its first COMMIT, when a poison vote splits it), so an
 * entry is recorded exactly when it is resolved: applied, stale, superseded within the batch, or headed for
 * the dead letters. Every entry of the batch is resolved by the time it is acknowledged.
 *
 * An entry is counted by the one statement that inserts its row into recorded_entries, and by no other: a
 * retry whose first COMMIT went through with its reply lost, a consumer that took the batch over from one
 * that died or froze after its COMMIT (or before it, its statement still running), and a frozen one that
 * wakes after the taker acknowledged, all find the row (the primary key makes a statement inserting a row
 * another has inserted and not yet committed wait for it, then see it), or find the entry below the
 * stream's horizon once the row is gone (advanceHorizon). Nothing is looked up before the statement, so
 * no snapshot can be out of date.
 */
export interface LedgerEntry {
  stream: string
  /**
   * The stream_entries row counting this batch: the consumer's name in lane 0, `<name>#<lane>` in the others
   * (consumer/lanes.ts). A row per lane, because two batches in flight adding to one row would wait for
   * each other's COMMIT on it; the audit adds a stream's rows up, whoever they belong to.
   */
  counter: string
  /** The version of every entry of the batch that has one (shared/entry-version.ts). */
  versions: bigint[]
  /**
   * Entries whose id has no version (beyond the year 2109, or two million in one millisecond: decode
   * dead-letters them as bad_entry_id). They have no row, so each statement recording them counts them:
   * they are counted twice should such a statement be retried after a lost COMMIT reply or taken over.
   * Redis never makes such ids itself; only an XADD with an explicit id can.
   */
  unversioned: number
}

/** The stream_entries row of a consumer's lane (LedgerEntry.counter). */
export const counterOf = (consumer: string, lane: number): string => (lane === 0 ? consumer : `${consumer}#${lane}`)

/** The ledger entry of `batch`, applied in `lane`. Pure: what was recorded before is decided by the statement. */
export function ledgerFor(batch: Batch, consumer: string, lane = 0): LedgerEntry {
  const versions: bigint[] = []
  let unversioned = 0
  for (const [id] of batch.entries) {
    const v = entryVersion(id)
    if (v === null) unversioned++
    else versions.push(v)
  }
  return { stream: batch.stream, counter: counterOf(consumer, lane), versions, unversioned }
}

/**
 * The ledger's part of a statement, as data-modifying CTEs (they follow other CTEs, or open with `with`);
 * `kept` holds a row per entry this statement counted. Inputs: the batch's versions. Invariant: an entry
 * is counted once, by the statement that inserts its row, and never when it is below the stream's horizon
 * (recorded and acknowledged already; its row may be gone). The horizon is read from the statement's
 * snapshot: advanceHorizon deletes rows only once no statement older than the horizon can be running.
 *
 * `after` names a CTE whose row locks must be taken first (apply's `locked`): every statement then takes
 * the contents locks before the entry rows, so two statements holding some of the same entries (a batch and
 * its takeover) cannot each hold what the other waits for.
 */
export function ledgerCtes(l: LedgerEntry, after?: SQL): SQL {
  const lockedFirst = after ? sql`and (select count(*) from ${after}) >= 0` : sql``
  return sql`
    kept as (
      insert into recorded_entries (stream, version)
      select ${l.stream}::text, v from unnest(${arrayLiteral(l.versions)}::int8[]) as v
      where v >= coalesce((select recorded_below from stream_horizons where stream = ${l.stream}::text), 0)
        ${lockedFirst}
      on conflict do nothing
      returning 1
    ), counted as (
      insert into stream_entries as s (stream, consumer, recorded)
      select ${l.stream}::text, ${l.counter}::text, count(*) + ${l.unversioned}::int from kept
      on conflict (stream, consumer) do update set recorded = s.recorded + excluded.recorded
    )`
}

/** For the statement's final select: how many entries of `l` it counted. */
export const countedOf = (l: LedgerEntry): SQL => sql`((select count(*) from kept) + ${l.unversioned}::int)::int`

/** For a batch no vote of which reached a COMMIT (all dead-lettered): the ledger on its own. Returns how many entries it counted. */
export async function recordOnly(db: Db, l: LedgerEntry): Promise<number> {
  const [row] = await db.execute<{ counted: number }>(sql`with ${ledgerCtes(l)} select ${countedOf(l)} as counted`)
  return row!.counted
}

/**
 * Upgrading from before migration 0011: the batches the old consumers recorded without seeing their XACK
 * (recorded_batches) become rows of recorded_entries, so a takeover of their entries finds them counted.
 * Run by every consumer before it takes any entry; a no-op once the table is empty.
 */
export async function moveRecordedBatches(db: Db): Promise<void> {
  await db.execute(sql`
    with moved as (delete from recorded_batches returning stream, entries)
    insert into recorded_entries (stream, version)
    select m.stream, e from moved m cross join unnest(m.entries) as e
    on conflict do nothing`)
}

/**
 * A horizon this consumer raised: its `xid` is the transaction that committed it. Rows below `below` may
 * go once no snapshot taken before that commit is left.
 */
export interface RaisedHorizon { below: bigint; xid: string }

/**
 * After a trim of `stream` to `threshold` (every group acknowledged each entry below it, so each was
 * recorded: a batch is acknowledged only after its COMMIT), raise its horizon there, and delete the rows
 * below the horizon `pending` raised earlier once that is safe: when no client backend holds a snapshot
 * older than the transaction that raised it (pg_stat_activity.backend_xmin). A statement whose snapshot
 * predates a raise could otherwise count an entry whose row it no longer finds; one that began after sees
 * the entry below the horizon. No clock and no period: a consumer frozen for an hour still runs a new
 * statement when it wakes. While a transaction stays open (a statement waiting on a lock, a session idle in
 * transaction, a long dump) the rows wait, one per vote. Only backends the consumer's role may see are
 * known (docs/operations.md says to run every consumer as one role). Returns the horizon still pending.
 */
export async function advanceHorizon(
  db: Db, stream: string, threshold: string, pending?: RaisedHorizon
): Promise<RaisedHorizon | undefined> {
  const below = thresholdVersion(threshold)
  // Delete first, then raise (`raised` waits for `gone`): two consumers doing this at once take the row
  // locks in the same order, and batch statements never lock the horizon row, so nobody waits in a circle.
  const noOlderStatement = pending === undefined
    ? sql`false`
    : sql`not exists (
        select 1 from pg_stat_activity
        where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()
          and backend_xmin is not null and age(backend_xmin) >= age(${pending.xid}::xid))`
  const [row] = await db.execute<{ xid: string; safe: boolean }>(sql`
    with safe as (
      select ${noOlderStatement} as ok
    ), gone as (
      delete from recorded_entries
      where stream = ${stream}::text and version < ${pending?.below ?? 0n}::int8 and (select ok from safe)
      returning 1
    ), raised as (
      insert into stream_horizons as h (stream, recorded_below)
      select ${stream}::text, ${below ?? 0n}::int8 where ${below !== null} and (select count(*) from gone) >= 0
      on conflict (stream) do update set recorded_below = excluded.recorded_below where h.recorded_below < excluded.recorded_below
    )
    select pg_current_xact_id()::xid::text as xid, (select ok from safe) as safe`)
  // The earlier raise, until its rows went; then this one (its rows go at a later trim).
  const left = row!.safe ? undefined : pending
  return left ?? (below === null ? undefined : { below, xid: row!.xid })
}
