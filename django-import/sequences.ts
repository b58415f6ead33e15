import type postgres from 'postgres'

/*
 * Ids are never reused (STYLE §17): a token of the old service names a user id, and a vote names a content id, so
 * an id the old service ever handed out must never go to a tally sign-up or a tally content. Its rows are not
 * enough to know them: a user deleted there, or one the import left out (--on-collision=skip), is only in the
 * sequence. So tally's sequences continue past the greatest of the old rows' ids, the old sequences' values and
 * tally's own.
 */

export interface OldIds { maxId: number; sequence: number | null }

/**
 * The highest id of `table` in the old database, and the last its id sequence handed out (null: no sequence).
 * A sequence's value is not bound to the snapshot: it is read as it is now, which can only be higher.
 */
export async function readOldIds(source: postgres.TransactionSql, table: 'auth_user' | 'api_content'): Promise<OldIds> {
  const [row] = await source<{ max_id: string; seq: string | null }[]>`
    select (select coalesce(max(id), 0) from ${source(table)})::int8 as max_id,
      pg_get_serial_sequence(${table}, 'id')::regclass::text as seq`
  let sequence: number | null = null
  if (row!.seq) {
    // The name is the server's own output of regclass (quoted where it must be), so it is safe to splice.
    const [s] = await source.unsafe<{ last_value: string; is_called: boolean }[]>(`select last_value, is_called from ${row!.seq}`)
    // Not called yet: last_value is the next id to hand out, so the last one used is below it.
    sequence = s!.is_called ? Number(s!.last_value) : Number(s!.last_value) - 1
  }
  return { maxId: Number(row!.max_id), sequence }
}

export const oldLastId = (ids: OldIds) => Math.max(ids.maxId, ids.sequence ?? 0)

/**
 * The id after which tally's `table` continues: the greatest of `oldLast`, tally's highest id and what its sequence
 * handed out already. With `set`, the sequence is moved there (never back) in the same statement. setval is not
 * undone by a rollback, which is why a dry run does not set it; a refused run may leave it moved, which only skips ids.
 */
export async function continueSequence(
  target: postgres.Sql | postgres.TransactionSql, table: 'users' | 'contents', oldLast: number, set: boolean
): Promise<number> {
  const [row] = await target<{ after: string }[]>`
    with s as (select pg_get_serial_sequence(${table}, 'id')::regclass as seq),
    used as (select coalesce(pg_sequence_last_value(seq), 0) as id from s),
    wanted as (select greatest(${oldLast}::int8, (select coalesce(max(id), 0) from ${target(table)}), (select id from used)) as after)
    select after, case when ${set} and after > (select id from used) then setval((select seq from s), after) end as moved from wanted`
  return Number(row!.after)
}
