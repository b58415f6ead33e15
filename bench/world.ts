/**
 * The bench's own world, made from nothing and removed afterwards: a database, a Redis prefix,
 * N users (bulk-inserted with one precomputed password hash, not N argon2 runs), M contents
 * (one set-based insert), the content index in Redis, and a signed access token per user.
 */
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { createSigner } from 'fast-jwt'
import { createDb } from '../shared/db/client.js'
import { migrateDatabase } from '../shared/db/migrate.js'
import { createRedis, closeRedis } from '../shared/redis/client.js'
import type { RedisTarget } from '../shared/redis/target.js'
import { redisKeys } from '../shared/redis/keys.js'
import { deleteKeysWithPrefix } from '../shared/redis/delete-prefix.js'
import { rebuildContentIndex } from '../shared/content-index.js'
import { hashPassword } from '../server/passwords.js'

export interface World {
  databaseUrl: string
  /** The bench's own clients connect here. */
  redis: RedisTarget
  /** What tells the API and consumers the same: REDIS_URL, or REDIS_CLUSTER_NODES for a cluster. */
  redisEnv: Record<string, string>
  prefix: string
  /** VOTE_STREAM_SHARDS of this run, handed to every process the bench starts. */
  shards: number
  secret: string
  tokens: string[]
  contents: { first: number; last: number }
  remove(): Promise<void>
}

export async function createWorld(opts: {
  adminUrl: string; redis: RedisTarget; redisEnv: Record<string, string>; shards: number; users: number; contents: number
  log: (m: string) => void
  /** Given, before anything is made, what removes the world: an interrupted bench calls it even mid-seeding. */
  removable?: (remove: () => Promise<void>) => void
}): Promise<World> {
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`
  const dbName = `tally_bench_${runId}`
  const admin = new URL(opts.adminUrl)
  admin.pathname = `/${dbName}`
  const databaseUrl = admin.toString()
  const prefix = `tally:bench:${runId}:`
  const remove = async () => {
    const adminDb = createDb(opts.adminUrl, { max: 1 })
    const cleaner = createRedis(opts.redis)
    try {
      await adminDb.execute(sql`drop database if exists ${sql.identifier(dbName)} with (force)`)
      await deleteKeysWithPrefix(cleaner, prefix)
    } finally {
      await adminDb.close()
      await closeRedis(cleaner)
    }
  }
  opts.removable?.(remove)
  const secret = randomUUID() + randomUUID()
  await migrateDatabase(databaseUrl)
  const db = createDb(databaseUrl, { max: 1 })
  const redis = createRedis(opts.redis)
  try {
    const hash = await hashPassword('bench-password')
    opts.log(`seeding ${opts.users} users, ${opts.contents} contents and as many votes`)
    await db.execute(sql`insert into users (username, username_key, password_hash)
      select 'bench' || g, 'bench' || g, ${hash} from generate_series(1, ${opts.users}::int) g`)
    // Votes on the contents (ids 1..N, given below), so reads show real counts and averages (user_vote included).
    await db.execute(sql`insert into votes (user_id, content_id, score, version)
      select 1 + (g % ${opts.users}::int), 1 + ((g::bigint * 7919) % ${opts.contents}::int), g % 6, g
      from generate_series(1, ${opts.contents}::int) g on conflict do nothing`)
    // Each content is written once, with its counts: inserting the rows and then updating their counts
    // would leave the table (and its primary key) twice the size a live table has, half of it dead rows.
    await db.execute(sql`insert into contents (id, title, description, vote_count, vote_sum, votes_0, votes_1, votes_2, votes_3, votes_4,
      votes_5) overriding system value
      select g, 'bench content ' || g, 'a content made by the benchmark', coalesce(v.n, 0), coalesce(v.s, 0), coalesce(v.h0, 0),
        coalesce(v.h1, 0), coalesce(v.h2, 0), coalesce(v.h3, 0), coalesce(v.h4, 0), coalesce(v.h5, 0)
      from generate_series(1, ${opts.contents}::int) g
      left join (select content_id, count(*)::int as n, sum(score) as s, count(*) filter (where score = 0)::int as h0,
        count(*) filter (where score = 1)::int as h1, count(*) filter (where score = 2)::int as h2,
        count(*) filter (where score = 3)::int as h3, count(*) filter (where score = 4)::int as h4,
        count(*) filter (where score = 5)::int as h5 from votes group by content_id) v on v.content_id = g
      order by g`)
    // The global histogram, as the consumers would have kept it had they applied these votes.
    await db.execute(sql`insert into score_totals (slot, votes_0, votes_1, votes_2, votes_3, votes_4, votes_5)
      select 0, sum(votes_0), sum(votes_1), sum(votes_2), sum(votes_3), sum(votes_4), sum(votes_5) from contents
      on conflict (slot) do update set votes_0 = excluded.votes_0, votes_1 = excluded.votes_1, votes_2 = excluded.votes_2,
        votes_3 = excluded.votes_3, votes_4 = excluded.votes_4, votes_5 = excluded.votes_5`)
    await db.execute(sql`select setval(pg_get_serial_sequence('contents', 'id'), ${opts.contents}::int)`)
    await db.execute(sql`vacuum analyze`)
    const [range] = await db.execute<{ first: number; last: number }>(sql`select min(id) as first, max(id) as last from contents`)
    const userIds = await db.execute<{ id: number }>(sql`select id from users order by id`)
    await rebuildContentIndex(db, redis, redisKeys(prefix, opts.shards))
    const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 6 * 3600 * 1000 })
    const tokens = userIds.map(({ id }) => sign({ sub: String(id), token_type: 'access', jti: randomUUID() }))
    return {
      databaseUrl, redis: opts.redis, redisEnv: opts.redisEnv, prefix, shards: opts.shards, secret, tokens, contents: range!,
      remove,
    }
  } finally {
    await db.close()
    await closeRedis(redis)
  }
}
