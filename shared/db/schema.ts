import { sql } from 'drizzle-orm'
import {
  bigint, boolean, check, doublePrecision, index, integer, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, varchar,
} from 'drizzle-orm/pg-core'

export const users = pgTable('users', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  username: varchar('username', { length: 150 }).notNull(),
  // NFKC + case folding of username (see shared/usernames.ts): "Ａlice", "alice" and "ALICE" are one account.
  usernameKey: text('username_key').notNull(),
  passwordHash: text('password_hash').notNull(),
  email: varchar('email', { length: 254 }).notNull().default(''),
  firstName: varchar('first_name', { length: 150 }).notNull().default(''),
  lastName: varchar('last_name', { length: 150 }).notNull().default(''),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  // false: cannot log in (Django's is_active, kept by the import). Registration makes active users.
  isActive: boolean('is_active').notNull().default(true),
}, (t) => [
  uniqueIndex('users_username_key_unique').on(t.usernameKey),
  // Only the hashes the Django import kept (tally's own start with `$`): the login census (server/password-census.ts)
  // reads them once a minute per API process, so it costs what is left to upgrade, not a scan of every user.
  index('users_legacy_hash_idx').on(t.passwordHash).where(sql`${t.passwordHash} not like '$%'`),
])

// vote_count, vote_sum and the histogram (votes_0 … votes_5: how many current votes give each score) are
// maintained by the consumer in the statement that changes votes (shared/db/vote-totals.ts), so a read never
// aggregates votes; CHECKs hold the three to each other. Newest first is id order: ids are handed out at insert.
// Pages keep 15% free (fillfactor 85, migration 0006: drizzle has no table option for it), so those
// updates stay on their page as heap-only tuples and touch no index: that is why the orderings' sort keys
// (rank_*) are separate columns, indexed, and rewritten by the re-ranker (consumer/rankings.ts) once per
// changed content per RANKING_REFRESH_MS rather than by every vote: an index on a column every vote moves
// made each vote's update insert into every index of the table (about 2.5× the statement's cost, measured).
export const contents = pgTable('contents', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  title: varchar('title', { length: 255 }).notNull(),
  description: text('description').notNull().default(''),
  authorId: integer('author_id').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  voteCount: integer('vote_count').notNull().default(0),
  voteSum: bigint('vote_sum', { mode: 'number' }).notNull().default(0),
  votes0: integer('votes_0').notNull().default(0),
  votes1: integer('votes_1').notNull().default(0),
  votes2: integer('votes_2').notNull().default(0),
  votes3: integer('votes_3').notNull().default(0),
  votes4: integer('votes_4').notNull().default(0),
  votes5: integer('votes_5').notNull().default(0),
  // The sort keys of the orderings, as of the last re-rank (null average: -1, so it sorts after every mean).
  // New contents get theirs from the prior in force (trigger of migration 0014).
  rankVoteCount: integer('rank_vote_count').notNull().default(0),
  rankAverageVote: doublePrecision('rank_average_vote').notNull().default(-1),
  rankBayesianAverage: doublePrecision('rank_bayesian_average').notNull().default(0),
  rankRatingLowerBound: doublePrecision('rank_rating_lower_bound').notNull().default(0),
}, (t) => [
  index('contents_author_id_idx').on(t.authorId),
  index('contents_rank_vote_count_idx').on(t.rankVoteCount.desc(), t.id.desc()),
  index('contents_rank_average_vote_idx').on(t.rankAverageVote.desc(), t.id.desc()),
  index('contents_rank_bayesian_average_idx').on(t.rankBayesianAverage.desc(), t.id.desc()),
  index('contents_rank_rating_lower_bound_idx').on(t.rankRatingLowerBound.desc(), t.id.desc()),
  check('contents_vote_count_nonnegative', sql`${t.voteCount} >= 0`),
  check('contents_vote_sum_in_range', sql`${t.voteSum} >= 0 and ${t.voteSum} <= 5 * ${t.voteCount}::bigint`),
  check('contents_histogram_nonnegative',
    sql`least(${t.votes0}, ${t.votes1}, ${t.votes2}, ${t.votes3}, ${t.votes4}, ${t.votes5}) >= 0`),
  check('contents_histogram_counts',
    sql`${t.voteCount} = ${t.votes0} + ${t.votes1} + ${t.votes2} + ${t.votes3} + ${t.votes4} + ${t.votes5}`),
  check('contents_histogram_sums',
    // eslint-disable-next-line @stylistic/max-len -- one line, as drizzle-kit wrote it into migration 0015
    sql`${t.voteSum} = ${t.votes1} + 2 * ${t.votes2}::bigint + 3 * ${t.votes3}::bigint + 4 * ${t.votes4}::bigint + 5 * ${t.votes5}::bigint`),
])

// One row per (user, content), written only by the consumer (consumer/apply.ts), which holds the row lock of
// the vote's content while it does. score null: the voter took the vote back (DELETE /api/vote/{id}/); the row
// stays, with its version, so a retraction delivered late or replayed cannot let an older vote back in.
// version is the stream entry id "<ms>-<seq>" as ms * 2^21 + seq: one int8 that orders like the ids (ms < 2^42,
// i.e. until the year 2109; seq < 2^21, or decode refuses the entry), so "apply only if newer" is one comparison.
// prev_score is the score the row held before its last change (null: a new row, or a vote taken back): the upsert
// writes it from the row it replaces, so its RETURNING yields the exact old score even when another transaction
// changed the row after this statement's snapshot.
// No foreign keys: apply checks users and contents in the statement that writes votes, set-based, instead of
// the two per-vote look-ups the foreign keys ran (contents are locked there anyway), and the triggers of
// migration 0005 delete a deleted user's or content's votes as ON DELETE CASCADE did, with no window for a
// vote to slip in (see that migration). No index on content_id either: nothing reads votes by content
// alone (reads look up (user_id, content_id)); only a content delete would, as one scan per statement.
export const votes = pgTable('votes', {
  userId: integer('user_id').notNull(),
  contentId: integer('content_id').notNull(),
  score: smallint('score'),
  version: bigint('version', { mode: 'bigint' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  prevScore: smallint('prev_score'),
}, (t) => [
  primaryKey({ name: 'votes_pkey', columns: [t.userId, t.contentId] }),
  check('votes_score_range', sql`${t.score} between 0 and 5`),
])

// Row counts kept exact by statement-level triggers (migration 0001), so the list's `count` is one
// primary-key read instead of a COUNT(*) over a million rows. Content inserts are rare next to votes,
// so the one hot row they update costs little.
export const counters = pgTable('counters', {
  name: text('name').primaryKey(),
  value: bigint('value', { mode: 'number' }).notNull(),
})

// The histogram of every vote in the service, kept like contents' own by the statements that change votes,
// in 16 rows (slot = the writing backend's pid % 16), summed when read: one row every consumer's statement
// updated would make each wait for the others' COMMIT. Read by the re-ranker for the prior mean C.
export const scoreTotals = pgTable('score_totals', {
  slot: smallint('slot').primaryKey(),
  votes0: bigint('votes_0', { mode: 'number' }).notNull().default(0),
  votes1: bigint('votes_1', { mode: 'number' }).notNull().default(0),
  votes2: bigint('votes_2', { mode: 'number' }).notNull().default(0),
  votes3: bigint('votes_3', { mode: 'number' }).notNull().default(0),
  votes4: bigint('votes_4', { mode: 'number' }).notNull().default(0),
  votes5: bigint('votes_5', { mode: 'number' }).notNull().default(0),
})

// The prior the rank keys were computed with: one row. mean is C (the mean of every vote, from score_totals),
// weight is m (RANKING_PRIOR_WEIGHT), z the lower bound's (RANKING_LOWER_BOUND_Z). Written by the re-ranker when
// C moved by more than RANKING_PRIOR_TOLERANCE or a setting changed; every rank key is then computed again.
export const rankingPrior = pgTable('ranking_prior', {
  id: boolean('id').primaryKey().default(true),
  mean: doublePrecision('mean').notNull(),
  weight: doublePrecision('weight').notNull(),
  z: doublePrecision('z').notNull(),
  votes: bigint('votes', { mode: 'number' }).notNull(),
  refreshedAt: timestamp('refreshed_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [check('ranking_prior_one_row', sql`${t.id}`)])

// The whole-path ledger `npm run audit` checks (audit/audit.ts): per stream (shard) and consumer, how many
// entries that consumer resolved (applied, found stale, superseded by a newer one in its batch, or
// dead-lettered), counted in the statement that commits the batch. The stream's entries-added must equal
// what all consumers recorded plus what is still pending or undelivered; an entry deleted from the stream
// before it was applied breaks that. One row per consumer, not per stream: a row per stream would be one
// hot row every batch of the shard waits on, serialising the consumers.
export const streamEntries = pgTable('stream_entries', {
  stream: text('stream').notNull(),
  consumer: text('consumer').notNull(),
  recorded: bigint('recorded', { mode: 'number' }).notNull().default(0),
}, (t) => [primaryKey({ name: 'stream_entries_pkey', columns: [t.stream, t.consumer] })])

// One row per stream entry recorded in stream_entries: the batch statement that records an entry inserts its row
// (ON CONFLICT DO NOTHING) and counts only the rows it inserted, so an entry recorded by one statement is not
// counted by another, whether that is a retry whose first COMMIT reply was lost, a consumer that took the batch
// over, or one that woke up late (consumer/ledger.ts). The primary key is what makes it exact: a statement
// inserting an entry another has inserted and not yet committed waits for that one and then sees its row.
// Rows are deleted once every group acknowledged the entry and stream_horizons says so to every statement.
// The key is (version, stream), version first: a comparison is then settled by one int8
// nearly always, which made the insert, one per vote, about 0.5 µs cheaper than with (stream, version).
export const recordedEntries = pgTable('recorded_entries', {
  stream: text('stream').notNull(),
  version: bigint('version', { mode: 'bigint' }).notNull(),
}, (t) => [primaryKey({ name: 'recorded_entries_pkey', columns: [t.version, t.stream] })])

// Per stream: every entry with a version below recorded_below was recorded and acknowledged by every group,
// so a statement counts none of them, row or no row; that is what lets their rows go (consumer/ledger.ts).
export const streamHorizons = pgTable('stream_horizons', {
  stream: text('stream').primaryKey(),
  recordedBelow: bigint('recorded_below', { mode: 'bigint' }).notNull(),
})

// Left from before migration 0011, which replaced it with recorded_entries: the versions of batches recorded
// but perhaps not acknowledged, one row per batch. Nothing writes it any more; a consumer moves what is left
// into recorded_entries when it starts, and the audit reads both until then (docs/operations.md, Upgrading).
export const recordedBatches = pgTable('recorded_batches', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  stream: text('stream').notNull(),
  consumer: text('consumer').notNull(),
  entries: bigint('entries', { mode: 'bigint' }).array().notNull(),
  recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('recorded_batches_stream_idx').on(t.stream)])

// What `npm run audit --baseline` set when the path was drained: entries-added minus recorded, per stream.
// 0 for a stream born with this ledger; after an upgrade from before it, or after Redis lost its data (the
// stream starts counting again from 0), the operator sets it once, with every shard drained.
export const streamBaselines = pgTable('stream_baselines', {
  stream: text('stream').primaryKey(),
  offset: bigint('offset', { mode: 'number' }).notNull(),
  setAt: timestamp('set_at', { withTimezone: true }).notNull().defaultNow(),
})

// Refresh tokens of the Django service traded for tally tokens (JWT_LEGACY_SECRET): each only once, by its jti.
export const legacyRefreshTokens = pgTable('legacy_refresh_tokens', {
  jti: text('jti').primaryKey(),
  userId: integer('user_id').notNull(),
  tradedAt: timestamp('traded_at', { withTimezone: true }).notNull().defaultNow(),
})

// What the Django import (django-import/import.ts) wrote for each account it brought over. A row here is what
// makes an account "imported": only these accounts are honoured for the old service's tokens (server/plugins/
// auth.ts). A re-run compares the tally row with this snapshot: while users.password_hash still equals
// written_hash and users.is_active equals is_active, nothing in tally changed the account, and the old
// service's newer hash, is_active and names are brought over; once the hash was upgraded at a login, tally wins.
export const legacyAccounts = pgTable('legacy_accounts', {
  userId: integer('user_id').primaryKey(),
  // Django's password field as the last run read it, and what that run wrote into users.password_hash
  // (the same, or the cheap legacy digests wrapped into argon2id).
  sourceHash: text('source_hash').notNull(),
  writtenHash: text('written_hash').notNull(),
  isActive: boolean('is_active').notNull(),
  username: varchar('username', { length: 150 }).notNull(),
  email: varchar('email', { length: 254 }).notNull(),
  firstName: varchar('first_name', { length: 150 }).notNull(),
  lastName: varchar('last_name', { length: 150 }).notNull(),
  importedAt: timestamp('imported_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

// Contents the Django import brought over (same id as in the old service). A re-run matches old contents by
// id only against these; a tally-born content under an old id is a clash, never silently merged.
export const legacyContents = pgTable('legacy_contents', {
  contentId: integer('content_id').primaryKey(),
  importedAt: timestamp('imported_at', { withTimezone: true }).notNull().defaultNow(),
})

// One row per completed (not dry) import run. The newest source_read_at is the cut-over: tokens of the old
// service issued after it are refused. The old service's id sequences as read, so tally's continue past them.
export const legacyImports = pgTable('legacy_imports', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  sourceReadAt: timestamp('source_read_at', { withTimezone: true }).notNull(),
  finishedAt: timestamp('finished_at', { withTimezone: true }).notNull().defaultNow(),
  usersLastId: bigint('users_last_id', { mode: 'number' }).notNull(),
  contentsLastId: bigint('contents_last_id', { mode: 'number' }).notNull(),
})
