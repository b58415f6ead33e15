import type { RedisClient } from '../shared/redis/client.js'
import type { Field } from './decode.js'
import type { StreamSettings } from './stream.js'

/*
 * What a dead letter is: an entry given up on, with the reason why, written to the dead-letter stream
 * (with its fields as they were) and only then acknowledged. Every reason is one of the few below.
 */

/**
 * Every reason a dead letter is counted under, in tally_dead_letters_total{reason}: decode's (the entry
 * is malformed), apply's (no such user or content), the delivery limit, and a vote PostgreSQL refused.
 */
export const DEAD_LETTER_REASONS = [
  'bad_entry_id', 'missing_field', 'bad_user', 'bad_content', 'bad_score',
  'unknown_user', 'unknown_content', 'max_deliveries', 'apply_failed',
] as const
export type DeadLetterLabel = (typeof DEAD_LETTER_REASONS)[number]

/**
 * The reason a dead letter carries on the dead-letter stream: its label, except that a vote PostgreSQL
 * refused carries the SQLSTATE it was refused with (apply_failed_23514: consumer/isolate.ts).
 */
export type DeadLetterReason = Exclude<DeadLetterLabel, 'apply_failed'> | `apply_failed_${string}`

/** An entry headed for the dead letters. */
export interface Rejected {
  stream: string
  entryId: string
  reason: DeadLetterReason
  /** As they were on the stream; XADD takes Buffers and strings alike. */
  fields: Field[]
}

/**
 * A dead letter's reason as a metric label: apply_failed_<SQLSTATE> counts as apply_failed (the code
 * stays in the dead letter and the log), so the label takes the small set of values above, each
 * present from the start.
 */
export function reasonLabel(reason: DeadLetterReason): DeadLetterLabel {
  return reason.startsWith('apply_failed_') ? 'apply_failed' : reason as DeadLetterLabel
}

/**
 * XADD each rejected entry, with its reason, to the dead-letter stream; then, only once every XADD has
 * succeeded, XACK them. In one pipeline a refused XADD (Redis out of memory refuses XADD but not XACK)
 * would still have acked its entry: gone, with no dead letter to show for it. Two round trips, and only
 * for batches that have rejects.
 */
export async function deadLetter(redis: RedisClient, s: StreamSettings, rejected: readonly Rejected[]): Promise<void> {
  if (rejected.length === 0) return
  const adds = redis.pipeline()
  for (const r of rejected) {
    adds.xadd(s.deadLetters, 'MAXLEN', '~', s.deadLetterMaxLen, '*',
      'stream', r.stream, 'entry', r.entryId, 'reason', r.reason, 'consumer', s.consumer, ...r.fields)
  }
  const failed = (await adds.exec())?.find(([err]) => err)
  if (failed) throw failed[0]
  const acks = redis.pipeline()
  for (const r of rejected) acks.xack(r.stream, s.group, r.entryId)
  const ackFailed = (await acks.exec())?.find(([err]) => err)
  if (ackFailed) throw ackFailed[0]
}
