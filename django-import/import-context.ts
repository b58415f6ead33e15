import type postgres from 'postgres'
import type { CollisionPolicy } from './collisions.js'
import type { ImportReport } from './report.js'

/** Rows read from the old database per round trip, and written into a temporary table per statement. */
export const BATCH = 20_000

export type BadHashPolicy = 'refuse' | 'unusable'

export interface ImportOptions {
  from: string
  to: string
  onCollision: CollisionPolicy
  onBadHash: BadHashPolicy
  dryRun: boolean
  log: (line: string) => void
}

/** What every step of one run shares. */
export interface ImportContext {
  /** The old database: one read-only, repeatable-read transaction for the whole run (one snapshot, one cut-over). */
  source: postgres.TransactionSql
  /** tally's database: one transaction for the whole run, rolled back by a dry run or a refusal. */
  target: postgres.TransactionSql
  opts: ImportOptions
  report: ImportReport
  totals: { users: number; contents: number; votes: number }
}

/** A progress line per batch: rows so far, rows/s and the time left. */
export function progress(log: (line: string) => void, what: string, total: number) {
  const started = Date.now()
  let last = 0
  return (done: number) => {
    const now = Date.now()
    if (now - last < 1000 && done < total) return
    last = now
    const rate = done / Math.max(0.001, (now - started) / 1000)
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0
    log(`${what}: ${done}/${total} (${Math.round(rate)} rows/s, ${Math.round(eta)} s left)`)
  }
}

/**
 * Every row of `query` from the old database, BATCH at a time (a cursor in the run's one snapshot), each batch's
 * `use` finished before the next is read and before this returns. Not cursor(n, fn): postgres.js does not await
 * fn for the last batch, so a step's next statement could run before that batch was written.
 */
export async function eachBatch<T extends object>(query: postgres.PendingQuery<T[]>, use: (rows: T[]) => Promise<void>): Promise<void> {
  for await (const rows of query.cursor(BATCH)) await use(rows as T[])
}
