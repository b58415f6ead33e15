import { sql } from 'drizzle-orm'
import type { Db } from '../shared/db/client.js'
import { versionSql } from '../shared/entry-version.js'
import type { Rejected } from './dead-letters.js'
import { rejectVote, type Vote } from './decode.js'
import { countedOf, ledgerCtes, type LedgerEntry } from './ledger.js'
import { arrayLiteral } from '../shared/db/array-literal.js'
import { LOCKED_COLUMNS, VOTE_TOTALS_CTES, VOTE_UPSERT_TAIL } from '../shared/db/vote-totals.js'

export interface ApplyResult {
  /** Votes that changed a row (new, or newer than the stored one). */
  applied: number
  /** Votes older than or equal to what is stored: a replay or an out-of-order delivery; nothing changed. */
  stale: number
  /** Votes naming a user or content that does not exist. */
  rejected: Rejected[]
  /** With a ledger entry: how many of its entries this statement counted (the others were counted before). */
  ledgerCounted?: number
}

// Each input row's version, from its id's ms and seq columns.
const VERSION = versionSql('i.ms', 'i.seq')

/**
 * Apply collapsed votes (one per (user, content), ordered by content: see collapse) in ONE statement, which
 * is its own transaction (no BEGIN/COMMIT round trips), prepared once per connection. The guarantees:
 *
 * - Fixed lock order, no deadlocks between consumers: `locked` takes the contents rows FOR NO KEY UPDATE
 *   in ascending id order (LockRows above the ORDER BY). Every votes row written belongs to a content
 *   locked first (the insert reads through `locked`), so two consumers never wait on each other for a
 *   votes row, and the contents UPDATE only touches rows this statement already holds.
 * - Unknown user or content → dead letter: whatever `locked` / `known` do not return (never existed, or
 *   deleted) is reported back and never inserted. No vote outlives its user or content (migration 0005,
 *   in place of the foreign keys' ON DELETE CASCADE): a DELETE of contents waits for `locked`'s row locks,
 *   a DELETE of users for this statement's lock on votes, and their triggers then delete the new votes.
 *   That is why the users check and the insert must stay in one statement: its snapshot is taken after
 *   its table locks, so it cannot predate a users DELETE that this statement had to wait for.
 * - Versioned exactly-once: the upsert changes a row only when the stored version is older
 *   (version = ms * 2^21 + seq, one int8 that orders like the ids: shared/entry-version.ts), so a
 *   replayed batch or an out-of-order entry changes nothing and is counted stale.
 * - Exact count/sum deltas: the old score comes from the row the upsert replaced (prev_score = v.score,
 *   read from the newest version, which ON CONFLICT always works on), not from this statement's snapshot,
 *   which may predate a commit another consumer made while `locked` waited for its lock. New vote: +1,
 *   +score; changed: +0, +new−old; stale: nothing.
 * - The totals those deltas are added to come from `locked` too: FOR NO KEY UPDATE returns the newest
 *   version of a row another transaction changed meanwhile, and no one else can change it until COMMIT.
 *   Not from the UPDATE's own scan (c.vote_count), which reads the snapshot's version: PostgreSQL checks
 *   the CHECK constraints on the row computed from that version before it finds the version outdated and
 *   recomputes it from the newest one (EvalPlanQual), so a delta relative to the newest votes row, added to
 *   the snapshot's totals, was refused by contents_vote_sum_in_range (a vote 5 → 0 on totals that did not
 *   have the 5 yet: sum −5) although the recomputed row would have been exact.
 */
export async function applyVotes(db: Db, votes: readonly Vote[], ledger?: LedgerEntry): Promise<ApplyResult> {
  // No votes, no statement: a batch with nothing to apply is recorded by recordOnly (consumer/ledger.ts).
  if (votes.length === 0) return { applied: 0, stale: 0, rejected: [] }
  const n = votes.length
  const users = new Array<number>(n); const contents = new Array<number>(n); const scores = new Array<number | null>(n)
  const ms = new Array<number>(n); const seqs = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const v = votes[i]!
    users[i] = v.userId; contents[i] = v.contentId; scores[i] = v.score; ms[i] = v.ms; seqs[i] = v.seq
  }
  const userIds = arrayLiteral(users); const contentIds = arrayLiteral(contents)
  // How many rows `locked` and `known` find when every id exists: only when they find fewer are the
  // missing ids worked out (two set differences that otherwise cost about as much as the whole lock).
  // Counting content changes between neighbours is exact for collapsed (content-ordered) input and can only
  // overcount otherwise, which merely computes an empty difference: never skips a missing id.
  let distinctContents = 0
  for (let i = 0; i < n; i++) if (i === 0 || contents[i] !== contents[i - 1]) distinctContents++
  const distinctUsers = new Set(users).size
  // Input: the votes as parallel arrays. Output: rows changed, and the ids no row was found (and locked) for.
  // With a ledger entry (the batch's first commit) the statement also records the batch (consumer/ledger.ts).
  type Row = { applied: number; missing_contents: number[] | null; missing_users: number[] | null; ledger_counted?: number }
  const [row] = await db.queryPrepared<Row>(sql`
    with locked as (
      select ${sql.raw(LOCKED_COLUMNS)} from contents where id = any(${sql.param(contentIds)}::int[]) order by id for no key update
    ), known as (
      select id from users where id = any(${sql.param(userIds)}::int[])
    ), upserted as (
      insert into votes as v (user_id, content_id, score, version, updated_at)
      select i.user_id, i.content_id, i.score, ${sql.raw(VERSION)}, now()
      from unnest(${sql.param(userIds)}::int[], ${sql.param(contentIds)}::int[], ${sql.param(arrayLiteral(scores))}::smallint[],
        ${sql.param(arrayLiteral(ms))}::int8[], ${sql.param(arrayLiteral(seqs))}::int8[]) as i(user_id, content_id, score, ms, seq)
      where i.content_id in (select id from locked) and i.user_id in (select id from known)
${sql.raw(VOTE_UPSERT_TAIL)}
    ), ${sql.raw(VOTE_TOTALS_CTES)}${ledger ? sql`, ${ledgerCtes(ledger, sql`locked`)}` : sql``}
    select (select count(*) from upserted)::int as applied,${ledger ? sql` ${countedOf(ledger)} as ledger_counted,` : sql``}
      case when (select count(*) from locked) < ${sql.param(distinctContents)}::int
        then array(select unnest(${sql.param(contentIds)}::int[]) except select id from locked) end as missing_contents,
      case when (select count(*) from known) < ${sql.param(distinctUsers)}::int
        then array(select unnest(${sql.param(userIds)}::int[]) except select id from known) end as missing_users`)
  const missingContents = new Set(row!.missing_contents ?? [])
  const missingUsers = new Set(row!.missing_users ?? [])
  const rejected: Rejected[] = []
  if (missingContents.size > 0 || missingUsers.size > 0) {
    for (const v of votes) {
      if (missingContents.has(v.contentId)) rejected.push(rejectVote(v, 'unknown_content'))
      else if (missingUsers.has(v.userId)) rejected.push(rejectVote(v, 'unknown_user'))
    }
  }
  const applied = row!.applied
  const result: ApplyResult = { applied, stale: n - rejected.length - applied, rejected }
  if (ledger) result.ledgerCounted = row!.ledger_counted
  return result
}
