/**
 * Shared pieces of the consumer tests: seed rows with plain SQL (no argon2), put votes on a stream
 * with XADD, run consumer/main.ts as a real process, wait for the group to drain, and check that
 * PostgreSQL holds exactly the newest vote per (user, content) that went onto the stream.
 */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { sql } from 'drizzle-orm'
import type { Redis } from 'ioredis'
import postgres from 'postgres'
import { audit, formatReport } from '../audit/audit.js'
import { DEFAULT_REDIS_URL } from '../shared/config.js'
import { createDb, type Db } from '../shared/db/client.js'
import { contents, users } from '../shared/db/schema.js'
import { closeRedis, createRedis, type RedisClient } from '../shared/redis/client.js'
import { redisKeys, type RedisKeys } from '../shared/redis/keys.js'
import { entryVersion } from '../shared/entry-version.js'
import { fieldsToRecord as toRecord, groupInfo } from '../shared/redis/stream-info.js'

export { toRecord }
import { emptyDatabase, uniqueName, waitFor } from './helpers.js'
import { startNode, type Started } from './processes.js'

/** CONSUMER_GROUP's default: the consumers below and audit() both use it. */
export const GROUP = 'tally-consumers'

/** A key prefix of this test's own, under the run's prefix (test/run.ts deletes it afterwards). */
export const isolatedPrefix = () => `${process.env.REDIS_PREFIX}${uniqueName('c')}:`

export function openDb(t: TestContext, url: string, max = 4): Db {
  const db = createDb(url, { max })
  t.after(() => db.close())
  return db
}

export function openRedis(t: TestContext, url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL): Redis {
  const redis = createRedis(url)
  t.after(() => closeRedis(redis))
  return redis
}

export async function seedUsers(db: Db, n: number): Promise<number[]> {
  const rows = Array.from({ length: n }, () => {
    const name = uniqueName('user')
    return { username: name, usernameKey: name, passwordHash: 'not-a-real-hash' }
  })
  return (await db.insert(users).values(rows).returning({ id: users.id })).map((r) => r.id)
}

export async function seedContents(db: Db, n: number): Promise<number[]> {
  const rows = Array.from({ length: n }, () => ({ title: uniqueName('title') }))
  return (await db.insert(contents).values(rows).returning({ id: contents.id })).map((r) => r.id)
}

/** An empty database and Redis prefix of the test's own, with `userCount` users and `contentCount` contents. */
export async function consumerWorld(t: TestContext, userCount: number, contentCount: number) {
  const url = await emptyDatabase(t)
  const prefix = isolatedPrefix()
  const keys = redisKeys(prefix)
  const db = openDb(t, url)
  const redis = openRedis(t)
  const users = await seedUsers(db, userCount)
  return { url, prefix, keys, stream: keys.stream(0), db, redis, users, contentIds: await seedContents(db, contentCount) }
}

/** n votes by random users on random contents with random scores, from a seeded generator. */
export const randomVotes = (
  random: (n: number) => number, userIds: readonly number[], contentIds: readonly number[], n: number
): VoteInput[] => Array.from({ length: n }, () => ({
  user: userIds[random(userIds.length)]!, content: contentIds[random(contentIds.length)]!, score: random(6),
}))

export interface VoteInput { user: number; content: number; score: number }
export interface Added extends VoteInput { id: string }

/** XADD each vote (fields as vote.lua writes them), pipelined in order; returns them with their entry ids. */
export async function addVotes(redis: RedisClient, stream: string, votes: readonly VoteInput[]): Promise<Added[]> {
  const added: Added[] = []
  for (let i = 0; i < votes.length; i += 500) {
    const chunk = votes.slice(i, i + 500)
    const pipeline = redis.pipeline()
    for (const v of chunk) {
      pipeline.xadd(stream, '*', 'user', String(v.user), 'content', String(v.content), 'score', String(v.score), 'ts', String(Date.now()))
    }
    const results = (await pipeline.exec()) ?? []
    results.forEach(([err, id], j) => {
      if (err) throw err
      added.push({ ...chunk[j]!, id: id as string })
    })
  }
  return added
}

export const key = (user: number, content: number) => `${user}:${content}`

/** What PostgreSQL must end up with: the score of the newest entry (by id, compared as numbers) per (user, content). */
export function newestVotes(added: readonly Added[]): Map<string, number> {
  const newest = new Map<string, { version: bigint; score: number }>()
  for (const a of added) {
    const version = entryVersion(a.id)!
    const seen = newest.get(key(a.user, a.content))
    if (!seen || seen.version < version) newest.set(key(a.user, a.content), { version, score: a.score })
  }
  return new Map([...newest].map(([k, v]) => [k, v.score]))
}

/**
 * The database holds exactly `expected` for these contents (votes rows, vote_count and vote_sum),
 * and `npm run audit`'s invariant holds over the whole database.
 */
export async function assertDbHolds(
  db: Db, redis: Redis, keys: RedisKeys, contentIds: readonly number[], expected: Map<string, number>
): Promise<void> {
  const rows = await db.execute<{ user_id: number; content_id: number; score: number }>(sql`
    select user_id, content_id, score from votes where content_id = any(${sql.param([...contentIds])}::int[])`)
  const stored = new Map(rows.map((r) => [key(r.user_id, r.content_id), r.score]))
  assert.deepEqual(sortedEntries(stored), sortedEntries(expected), 'votes rows are the newest vote per (user, content)')
  const totals = await db.execute<{ id: number; vote_count: number; vote_sum: string }>(sql`
    select id, vote_count, vote_sum from contents where id = any(${sql.param([...contentIds])}::int[]) order by id`)
  for (const row of totals) {
    const scores = [...expected].filter(([k]) => k.endsWith(`:${row.id}`)).map(([, s]) => s)
    assert.equal(row.vote_count, scores.length, `vote_count of content ${row.id}`)
    assert.equal(Number(row.vote_sum), scores.reduce((a, b) => a + b, 0), `vote_sum of content ${row.id}`)
  }
  const report = await audit(db, redis, keys, GROUP)
  assert.deepEqual(report.mismatches, [])
  assert.equal(report.ok, true, `audit reports the invariants hold:\n${formatReport(report)}`)
}

const sortedEntries = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** The group's row of XINFO GROUPS, or null while the group does not exist yet. */
export const groupState = (redis: RedisClient, stream: string, group = GROUP) => groupInfo(redis, stream, group)

/** Every entry delivered and acknowledged: pending 0 and nothing left to deliver. */
export async function waitForDrained(redis: RedisClient, stream: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => {
    const state = await groupState(redis, stream)
    if (!state || state.pending !== 0) return false
    if (state.lag !== null) return state.lag === 0
    const info = toRecord((await redis.xinfo('STREAM', stream)) as unknown[])
    return state.lastDelivered === String(info['last-generated-id'])
  }, { timeoutMs, intervalMs: 50, what: `stream ${stream} to drain (pending 0, lag 0)` })
}

/** Entries pending (delivered, not acked) for one consumer of the group. */
export async function pendingOf(redis: RedisClient, stream: string, consumer: string): Promise<string[]> {
  const rows = (await redis.xpending(stream, GROUP, '-', '+', 100_000, consumer)) as [string, string, number, number][]
  return rows.map(([id]) => id)
}

export interface DeadLetter { id: string; [field: string]: string }

export async function deadLetters(redis: RedisClient, keys: RedisKeys): Promise<DeadLetter[]> {
  return (await redis.xrange(keys.deadLetters, '-', '+')).map(([id, fields]) => ({ ...toRecord(fields) as Record<string, string>, id }))
}

/** A consumer process; `name` is its CONSUMER_NAME, as the group knows it. */
export type Consumer = Started

/**
 * consumer/main.ts as production runs it, on `databaseUrl` and `prefix`; SIGKILLed when the test ends
 * if it is still running. Fast claim and short blocking reads keep the tests quick.
 */
export function startConsumer(t: TestContext, databaseUrl: string, prefix: string, env: Record<string, string> = {}): Consumer {
  const name = env.CONSUMER_NAME ?? uniqueName('consumer')
  const started = startNode(t, 'consumer/main.ts', {
    env: {
      ...process.env, DATABASE_URL: databaseUrl, REDIS_PREFIX: prefix, CONSUMER_NAME: name, CONSUMER_METRICS_PORT: '0',
      CONSUMER_CLAIM_IDLE_MS: '500', CONSUMER_BLOCK_MS: '100', LOG_LEVEL: 'warn', ...env,
    },
  })
  return { ...started, name }
}

/** Integers in [0, n), from a seeded generator: a failing run can be replayed with the same seed. */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed >>> 0
  return (n) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    return Math.floor((state / 2 ** 32) * n)
  }
}

/** Statements of this database waiting for a lock (a row lock, or another's uncommitted row of a unique index). */
export async function lockWaiters(db: Db): Promise<number> {
  const [row] = await db.execute<{ n: number }>(sql`
    select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)
  return row!.n
}

/**
 * A consumer that has taken `count` new votes and waits on a row lock with them pending, so a kill hits it
 * mid-batch, its statement in PostgreSQL. Returns the votes, the victim and the function that lets the lock go.
 */
export async function victimMidBatch(
  t: TestContext, world: Awaited<ReturnType<typeof consumerWorld>>, count: number, env: Record<string, string> = {}
) {
  const { url, prefix, stream, db, redis, users, contentIds } = world
  const added = await addVotes(redis, stream, randomVotes(seededRandom(11), users, contentIds, count))
  // Hold a content row, so the victim's transaction blocks with the batch delivered but not acked.
  const locker = postgres(url, { max: 1, onnotice: () => {} })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let locked!: () => void
  const isLocked = new Promise<void>((resolve) => { locked = resolve })
  const holding = locker.begin(async (tx) => {
    await tx`select id from contents where id = ${contentIds[0]!} for update`
    locked()
    await released
  })
  t.after(async () => {
    release()
    await holding.catch(() => {})
    await locker.end()
  })
  await isLocked
  const victim = startConsumer(t, url, prefix, env)
  await waitFor(async () => (await pendingOf(redis, stream, victim.name)).length === added.length,
    { timeoutMs: 20_000, what: 'the whole batch pending on the victim' })
  await waitFor(async () => (await lockWaiters(db)) > 0, { what: 'the victim to wait on the row lock' })
  return { added, victim, release: async () => { release(); await holding } }
}
