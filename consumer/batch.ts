import type { Rejected, StreamEntry } from './decode.js'
import type { Batch } from './stream.js'

/*
 * The rules of one batch, as pure functions: which entries are given up on, which are acked by the
 * loop's XACK, and the reason a dead letter is counted under. The loop only strings them together.
 */

/**
 * Split a batch by delivery count: entries delivered more than maxDeliveries times are given up on
 * (dead-lettered as max_deliveries, never applied: a vote that keeps killing or stalling its consumer
 * must not take the next one with it), the rest are applied. Only entries taken over from another
 * consumer carry a count; a new read is a first delivery.
 */
export function partitionByDeliveries(batch: Batch, maxDeliveries: number): { entries: StreamEntry[]; tooOften: Rejected[] } {
  const deliveries = batch.deliveries
  if (deliveries === undefined) return { entries: batch.entries, tooOften: [] }
  const entries: StreamEntry[] = []
  const tooOften: Rejected[] = []
  for (const entry of batch.entries) {
    const [entryId, fields] = entry
    if ((deliveries.get(entryId) ?? 1) <= maxDeliveries) entries.push(entry)
    else tooOften.push({ stream: batch.stream, entryId, reason: 'max_deliveries', fields })
  }
  return { entries, tooOften }
}

/**
 * The ids the loop acks once the batch is committed: every entry but the dead-lettered ones, which
 * deadLetter acks itself only after their XADD succeeded (an entry is never acked before it is
 * either applied or kept as a dead letter).
 */
export function idsToAck(entries: readonly StreamEntry[], dead: readonly Rejected[]): string[] {
  const ids = entries.map(([id]) => id)
  if (dead.length === 0) return ids
  const deadIds = new Set(dead.map((r) => r.entryId))
  return ids.filter((id) => !deadIds.has(id))
}

/**
 * Every reason a dead letter has, as counted in tally_dead_letters_total{reason}: decode's (the entry
 * is malformed), apply's (no such user or content), the delivery limit, and a vote PostgreSQL refused.
 */
export const DEAD_LETTER_REASONS = [
  'bad_entry_id', 'missing_field', 'bad_user', 'bad_content', 'bad_score',
  'unknown_user', 'unknown_content', 'max_deliveries', 'apply_failed',
] as const
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number]

/**
 * A dead letter's reason as a metric label: apply_failed_<SQLSTATE> counts as apply_failed (the code
 * stays in the dead letter and the log), so the label takes the small set of values above, each
 * present from the start.
 */
export function reasonLabel(reason: string): string {
  return reason.startsWith('apply_failed_') ? 'apply_failed' : reason
}
