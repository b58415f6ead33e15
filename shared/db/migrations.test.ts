// Migrations 0003–0005 on a database that already holds votes: each numeric(40,0) version (ms * 2^64 + seq)
// becomes the bigint the consumer compares with (ms * 2^21 + seq) without changing any order, and after
// them the consumer's replays of the old entries are still no-ops while newer entries apply.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import { sql } from 'drizzle-orm'
import { MIGRATIONS_DIR, migrateDatabase } from './migrate.js'
import { applyVotes } from '../../consumer/apply.js'
import { decodeEntry, type Vote } from '../../consumer/decode.js'
import { entryVersion } from '../entry-version.js'
import { withDatabase } from '../../test/databases.js'
import { openDb, openRedis, isolatedPrefix, assertDbHolds } from '../../test/consumer-helpers.js'
import { redisKeys } from '../redis/keys.js'
import { uniqueName } from '../../test/helpers.js'

/** The migrations folder as it was before the int8 version: the first `count` entries of the journal. */
function migrationsUpTo(count: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'tally-migrations-'))
  cpSync(MIGRATIONS_DIR, dir, { recursive: true })
  const journalPath = join(dir, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: unknown[] }
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, count) }))
  return dir
}

test('old numeric versions become int8 versions that order exactly as before', async (t) => {
  const url = withDatabase(process.env.DATABASE_URL!, uniqueName('tally_migration'))
  const name = new URL(url).pathname.slice(1)
  const admin = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => {} })
  await admin`create database ${admin(name)}`
  t.after(async () => {
    await admin`drop database if exists ${admin(name)} with (force)`
    await admin.end()
  })
  const dir = migrationsUpTo(3)
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const old = postgres(url, { max: 1, onnotice: () => {} })
  await migrate(drizzle(old), { migrationsFolder: dir })
  await old`insert into users (username, username_key, password_hash) select 'm' || g, 'm' || g, 'x' from generate_series(1, 3) g`
  await old`insert into contents (title) select 't' || g from generate_series(1, 3) g`
  // [user, content, score, ms, seq]: seq 2^21 + 5 stands for an id no consumer accepts any more.
  const rows: [number, number, number, bigint, bigint][] = [
    [1, 1, 4, 1700000000000n, 3n], [2, 1, 2, 9n, 0n], [3, 2, 5, 1700000000000n, 2097157n], [1, 3, 1, 0n, 0n],
  ]
  for (const [u, c, s, ms, seq] of rows) {
    await old`insert into votes (user_id, content_id, score, version) values (${u}, ${c}, ${s}, ${String((ms << 64n) + seq)}::numeric)`
  }
  await old`update contents c set vote_count = v.n, vote_sum = v.s
    from (select content_id, count(*)::int n, sum(score) s from votes group by content_id) v where v.content_id = c.id`
  await old.end()

  await migrateDatabase(url)
  const db = openDb(t, url)
  const stored = await db.execute<{ user_id: number; content_id: number; version: string }>(sql`
    select user_id, content_id, version::text from votes order by user_id, content_id`)
  assert.deepEqual(stored.map((r) => [r.user_id, r.content_id, r.version]), [
    [1, 1, String(entryVersion('1700000000000-3'))],
    [1, 3, '0'],
    [2, 1, String(entryVersion('9-0'))],
    [3, 2, String(entryVersion('1700000000000-2097151'))],
  ])
  const vote = (id: string, u: number, c: number, s: number) =>
    decodeEntry('s', [id, ['user', String(u), 'content', String(c), 'score', String(s)]]) as Vote
  // Replays of what is stored, and older or same-ms entries, change nothing; newer ones apply.
  const replays = await applyVotes(db, [vote('1700000000000-3', 1, 1, 0), vote('8-0', 2, 1, 0), vote('1700000000000-2097151', 3, 2, 0)])
  assert.deepEqual({ applied: replays.applied, stale: replays.stale }, { applied: 0, stale: 3 })
  const newer = await applyVotes(db, [vote('1700000000000-4', 1, 1, 5), vote('1700000000001-0', 3, 2, 1), vote('1-0', 1, 3, 3)])
  assert.deepEqual({ applied: newer.applied, stale: newer.stale }, { applied: 3, stale: 0 })
  await assertDbHolds(db, openRedis(t), redisKeys(isolatedPrefix()), [1, 2, 3], new Map([['1:1', 5], ['2:1', 2], ['3:2', 1], ['1:3', 3]]))
})
