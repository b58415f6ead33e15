import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../shared/db/client.js'
import { entryVersion } from './decode.js'
import type { Batch } from './stream.js'
import { arrayLiteral } from '../shared/db/array-literal.js'

/**
 * What one batch adds to the whole-path ledger (tables stream_entries and recorded_batches, schema.ts),
 * written by the statement that commits the batch (its first COMMIT, when a poison vote splits it), so an
 * entry is recorded exactly when it is resolved: applied, stale, superseded within the batch, or headed for
 * the dead letters. Every entry of the batch is resolved by the time it is acknowledged.
 */
export interface LedgerEntry {
  stream: string
  consumer: string
  /**
   * The stream_entries row counting this batch: the consumer's name in lane 0, `<name>#<lane>` in the others
   * (consumer/lanes.ts). A row per lane, because two batches in flight adding to one row would wait for
   * each other's COMMIT on it; the audit adds a stream's rows up, whoever they belong to.
   */
  counter: string
  /** How many entries of the batch were not recorded before (redelivered ones may have been). */
  count: number
  /** The version of every entry of the batch: kept until its XACK is known to have gone through. */
  versions: bigint[]
  /** Rows of this consumer's earlier batches, acknowledged since: no longer needed. */
  forget: number[]
  /** Rows of a dead consumer holding some of these entries: they lose those entries (or go, when left empty). */
  overlapping: number[]
}


/**
 * For a batch taken over from another consumer (or from a dead predecessor of this name): the versions of
 * its entries that some batch row already holds (recorded, its XACK never seen), and those rows. A batch
 * read fresh (XREADGROUP >) was never delivered before, so it needs no look.
 */
export async function alreadyRecorded(db: Db, batch: Batch, versions: readonly bigint[]): Promise<{ known: Set<bigint>; rows: number[] }> {
  if (batch.deliveries === undefined || versions.length === 0) return { known: new Set(), rows: [] }
  const rows = await db.execute<{ id: number; entries: string[] }>(sql`
    select id, entries::text[] as entries from recorded_batches
    where stream = ${batch.stream} and entries && ${arrayLiteral(versions)}::int8[]`)
  const mine = new Set(versions)
  const known = new Set<bigint>()
  for (const row of rows) for (const e of row.entries) if (mine.has(BigInt(e))) known.add(BigInt(e))
  return { known, rows: rows.map((r) => Number(r.id)) }
}

/** The stream_entries row of a consumer's lane (LedgerEntry.counter). */
export const counterOf = (consumer: string, lane: number): string => (lane === 0 ? consumer : `${consumer}#${lane}`)

/** The ledger entry of `batch`, applied in `lane`: its versions, how many are new, and the rows to forget or shrink. */
export async function ledgerFor(db: Db, batch: Batch, consumer: string, forget: readonly number[], lane = 0): Promise<LedgerEntry> {
  const versions: bigint[] = []
  let unversioned = 0
  for (const [id] of batch.entries) {
    const v = entryVersion(id)
    // An id outside the version's range is refused by decode as poison; it is counted, but cannot be kept.
    if (v === null) unversioned++
    else versions.push(v)
  }
  const { known, rows } = await alreadyRecorded(db, batch, versions)
  return {
    stream: batch.stream, consumer, counter: counterOf(consumer, lane), count: versions.length - known.size + unversioned, versions, forget: [...forget], overlapping: rows,
  }
}

/**
 * The ledger's part of a statement, as data-modifying CTEs (a leading comma: it follows other CTEs or opens
 * with `with`), and the expression naming the new batch row's id for the statement's final select.
 */
export function ledgerCtes(l: LedgerEntry): SQL {
  const versions = arrayLiteral(l.versions)
  return sql`
    counted as (
      insert into stream_entries as s (stream, consumer, recorded) values (${l.stream}, ${l.counter}, ${l.count})
      on conflict (stream, consumer) do update set recorded = s.recorded + excluded.recorded
    ), held as (
      insert into recorded_batches (stream, consumer, entries) values (${l.stream}, ${l.consumer}, ${versions}::int8[]) returning id
    ), forgotten as (
      delete from recorded_batches where id = any(${arrayLiteral(l.forget)}::int8[])
    ), emptied as (
      delete from recorded_batches b where b.id = any(${arrayLiteral(l.overlapping)}::int8[]) and b.entries <@ ${versions}::int8[]
    ), shrunk as (
      update recorded_batches b set entries = array(select unnest(b.entries) except select unnest(${versions}::int8[]))
      where b.id = any(${arrayLiteral(l.overlapping)}::int8[]) and not b.entries <@ ${versions}::int8[]
    )`
}

/** For a batch no vote of which reached a COMMIT (all dead-lettered): the ledger on its own. Returns the batch row. */
export async function recordOnly(db: Db, l: LedgerEntry): Promise<number> {
  const [row] = await db.execute<{ ledger_row: number }>(sql`with ${ledgerCtes(l)} select (select id from held) as ledger_row`)
  return Number(row!.ledger_row)
}

/** At start, after taking back its own pending entries: rows of this name left by a predecessor hold only acknowledged entries. */
export async function forgetOwnRows(db: Db, consumer: string): Promise<void> {
  await db.execute(sql`delete from recorded_batches where consumer = ${consumer}`)
}
