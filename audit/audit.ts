/**
 * The invariants behind `npm run audit` (cli/audit.ts), which fails when either does not hold:
 * - The stored totals: for every content, its histogram (votes_0 … votes_5) equals the number of its votes rows
 *   giving each score (a vote taken back, score null, counts for none), and with it vote_count and vote_sum, which
 *   CHECKs tie to the histogram; the global histogram (score_totals, summed) equals every content's added up; and
 *   counters.contents equals the number of contents.
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
  /** Votes rows that hold a score (rows of votes taken back are not counted). */
  votes: number
  /** Contents whose maintained histogram (and count, sum) disagree with their votes rows (at most 20 shown). */
  mismatches: {
    id: number; vote_count: number; vote_sum: number; histogram: number[]
    actual_count: number; actual_sum: number; actual_histogram: number[]
  }[]
  counterOk: boolean
  /** The global histogram (score_totals summed) and whether it equals the contents' histograms added up. */
  globalHistogram: number[]
  globalOk: boolean
  streams: { stream: string; length: number; pending: number; lag: number | null }[]
  deadLetters: number
  /** Per shard: what its stream took against what is accounted for. */
  ledger: StreamLedger[]
  ledgerOk: boolean
}

const HISTOGRAM_SUMS = sql.raw('array[sum(votes_0), sum(votes_1), sum(votes_2), sum(votes_3), sum(votes_4), sum(votes_5)]::float8[]')

export async function audit(db: Db, redis: RedisClient, keys: RedisKeys, group: string): Promise<AuditReport> {
  const mismatches = await db.execute<AuditReport['mismatches'][number]>(sql`
    select c.id, c.vote_count, c.vote_sum::int as vote_sum,
      array[c.votes_0, c.votes_1, c.votes_2, c.votes_3, c.votes_4, c.votes_5] as histogram,
      coalesce(v.n, 0)::int as actual_count, coalesce(v.s, 0)::int as actual_sum,
      array[coalesce(v.h0, 0), coalesce(v.h1, 0), coalesce(v.h2, 0), coalesce(v.h3, 0), coalesce(v.h4, 0), coalesce(v.h5, 0)]::int[]
        as actual_histogram
    from contents c left join (
      select content_id, count(score) as n, sum(score) as s, count(*) filter (where score = 0) as h0,
        count(*) filter (where score = 1) as h1, count(*) filter (where score = 2) as h2, count(*) filter (where score = 3) as h3,
        count(*) filter (where score = 4) as h4, count(*) filter (where score = 5) as h5
      from votes group by content_id
    ) v on v.content_id = c.id
    where (c.votes_0, c.votes_1, c.votes_2, c.votes_3, c.votes_4, c.votes_5)
      is distinct from (coalesce(v.h0, 0), coalesce(v.h1, 0), coalesce(v.h2, 0), coalesce(v.h3, 0), coalesce(v.h4, 0), coalesce(v.h5, 0))
      or c.vote_count <> coalesce(v.n, 0) or c.vote_sum <> coalesce(v.s, 0)
    order by c.id limit 20`)
  type Totals = { contents: number; votes: number; counter: number; global: (number | null)[]; summed: (number | null)[] }
  const [totals] = await db.execute<Totals>(sql`
    select (select count(*) from contents)::int as contents, (select count(score) from votes)::int as votes,
      (select value from counters where name = 'contents')::int as counter,
      (select ${HISTOGRAM_SUMS} from score_totals) as global, (select ${HISTOGRAM_SUMS} from contents) as summed`)
  const globalHistogram = totals!.global.map((n) => Number(n ?? 0))
  const globalOk = globalHistogram.every((n, i) => n === Number(totals!.summed[i] ?? 0))
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
    ok: mismatches.length === 0 && counterOk && globalOk && ledgerOk, contents: totals!.contents, votes: totals!.votes,
    mismatches: [...mismatches], counterOk, globalHistogram, globalOk, streams, deadLetters, ledger, ledgerOk,
  }
}

export function formatReport(r: AuditReport): string {
  const lines = [
    `invariant: ${r.ok ? 'OK' : 'FAILED'}`,
    `contents: ${r.contents} (counter ${r.counterOk ? 'agrees' : 'DISAGREES'}), votes: ${r.votes}`,
    `global histogram: [${r.globalHistogram.join(', ')}] (${r.globalOk ? 'agrees with the contents\'' : 'DISAGREES with the contents\''})`,
    ...r.streams.map((s) => `stream ${s.stream}: ${s.length} entries, ${s.pending} pending, ${s.lag ?? 'unknown'} not yet delivered`),
    `dead letters: ${r.deadLetters}`,
    ...formatLedgerLines(r.ledger),
    ...r.mismatches.map((m) =>
      `  content ${m.id}: vote_count ${m.vote_count} vs ${m.actual_count} rows, vote_sum ${m.vote_sum} vs ${m.actual_sum}, ` +
      `histogram [${m.histogram.join(', ')}] vs [${m.actual_histogram.join(', ')}]`),
  ]
  return lines.join('\n')
}
