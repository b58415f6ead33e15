/**
 * The invariants behind `npm run audit` (cli/audit.ts), which fails when either does not hold:
 * - The stored totals: for every content, vote_count and vote_sum equal COUNT(*) and SUM(score) over its
 *   votes rows, and counters.contents equals the number of contents.
 * - The whole path (audit/ledger-check.ts): every entry each stream shard ever took (XINFO STREAM's
 *   entries-added) is recorded in PostgreSQL as resolved by a consumer, or is still pending or undelivered.
 *   An entry deleted from a stream before it was applied, or a Redis that lost its data, breaks it.
 */
import { sql } from 'drizzle-orm'
import type { RedisClient } from '../shared/redis/client.js'
import type { Db } from '../shared/db/client.js'
import type { RedisKeys } from '../shared/redis/keys.js'
import { groupInfo } from '../shared/redis/stream-info.js'
import { checkStreamLedger, formatLedgerLines, type StreamLedger } from './ledger-check.js'

export interface AuditReport {
  ok: boolean
  contents: number
  votes: number
  /** Contents whose maintained count/sum disagree with their votes rows (at most 20 shown). */
  mismatches: { id: number; vote_count: number; vote_sum: number; actual_count: number; actual_sum: number }[]
  counterOk: boolean
  streams: { stream: string; length: number; pending: number; lag: number | null }[]
  deadLetters: number
  /** Per shard: what its stream took against what is accounted for. */
  ledger: StreamLedger[]
  ledgerOk: boolean
}

export async function audit(db: Db, redis: RedisClient, keys: RedisKeys, group: string): Promise<AuditReport> {
  const mismatches = await db.execute<AuditReport['mismatches'][number]>(sql`
    select c.id, c.vote_count, c.vote_sum::int as vote_sum, coalesce(v.n, 0)::int as actual_count, coalesce(v.s, 0)::int as actual_sum
    from contents c left join (select content_id, count(*) as n, sum(score) as s from votes group by content_id) v on v.content_id = c.id
    where c.vote_count <> coalesce(v.n, 0) or c.vote_sum <> coalesce(v.s, 0)
    order by c.id limit 20`)
  const [totals] = await db.execute<{ contents: number; votes: number; counter: number }>(sql`
    select (select count(*) from contents)::int as contents, (select count(*) from votes)::int as votes,
      (select value from counters where name = 'contents')::int as counter`)
  const streams = []
  for (let shard = 0; shard < keys.shards; shard++) {
    const stream = keys.stream(shard)
    const [length, info] = await Promise.all([redis.xlen(stream), groupInfo(redis, stream, group)])
    streams.push({ stream, length, pending: info?.pending ?? 0, lag: info?.lag ?? null })
  }
  const deadLetters = await redis.xlen(keys.deadLetters)
  const counterOk = totals!.counter === totals!.contents
  const ledger = await Promise.all(streams.map((s) => checkStreamLedger(db, redis, s.stream, group)))
  const ledgerOk = ledger.every((l) => l.unaccounted === 0)
  return {
    ok: mismatches.length === 0 && counterOk && ledgerOk, contents: totals!.contents, votes: totals!.votes, mismatches: [...mismatches],
    counterOk, streams, deadLetters, ledger, ledgerOk,
  }
}

export function formatReport(r: AuditReport): string {
  const lines = [
    `invariant: ${r.ok ? 'OK' : 'FAILED'}`,
    `contents: ${r.contents} (counter ${r.counterOk ? 'agrees' : 'DISAGREES'}), votes rows: ${r.votes}`,
    ...r.streams.map((s) => `stream ${s.stream}: ${s.length} entries, ${s.pending} pending, ${s.lag ?? 'unknown'} not yet delivered`),
    `dead letters: ${r.deadLetters}`,
    ...formatLedgerLines(r.ledger),
    ...r.mismatches.map((m) =>
      `  content ${m.id}: vote_count ${m.vote_count} vs ${m.actual_count} rows, vote_sum ${m.vote_sum} vs ${m.actual_sum}`),
  ]
  return lines.join('\n')
}
