/**
 * `npm run import:django -- --from postgres://…/olddb [--on-collision=suffix|skip] [--dry-run]`: the Django
 * service's users, contents and votes into the database of DATABASE_URL (migrated first), then the content
 * index in Redis rebuilt. Set-based: each source table is read in batches (a cursor) into a temporary
 * table, and moved into tally's tables by one statement, in one transaction per table. Re-runnable: rows
 * already there (same id, or same user and content) are left as they are, so a second run changes nothing
 * and a password upgraded or a vote cast in tally since is kept. --dry-run does all of it in transactions
 * that are rolled back, and prints the same report. docs/django-import.md says what is kept and what skipped.
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { planNames, type CollisionPolicy, type NamePlan } from './collisions.js'

const BATCH = 20_000

export interface ImportReport {
  users: { read: number; imported: number; present: number; skipped: number; inactive: number }
  collisions: NamePlan['collisions']
  contents: { read: number; imported: number; present: number }
  votes: { read: number; imported: number; present: number; duplicates: number; nullContent: number; unknownUser: number; unknownContent: number; badScore: number }
  seconds: number
}

export interface ImportOptions { from: string; to: string; onCollision: CollisionPolicy; dryRun: boolean; log: (line: string) => void }

/** A progress line per batch: rows so far, rows/s and the time left. */
function progress(log: (line: string) => void, what: string, total: number) {
  const started = Date.now()
  let last = 0
  return (done: number) => {
    const now = Date.now()
    if (now - last < 1000 && done < total) return
    last = now
    const rate = done / Math.max(0.001, (now - started) / 1000)
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0
    log(`${what}: ${done}/${total} (${Math.round(rate)} rows/s, ${Math.round(eta)} s left)`)
  }
}

/** Every row of `query` from the source, `BATCH` at a time, in the source's own transaction (a consistent read). */
async function eachBatch<T extends object>(source: postgres.Sql, query: (sql: postgres.TransactionSql) => postgres.PendingQuery<T[]>, use: (rows: T[]) => Promise<void>): Promise<void> {
  await source.begin('isolation level repeatable read read only', async (tx) => {
    await query(tx).cursor(BATCH, async (rows) => { await use(rows as T[]) })
  })
}

/** The import stops before writing anything; `collisions` says which accounts, when that is why. */
export class ImportRefused extends Error {
  constructor(message: string, readonly collisions: NamePlan['collisions'] = []) { super(message) }
}

export async function importDjango(opts: ImportOptions): Promise<ImportReport> {
  const started = Date.now()
  const source = postgres(opts.from, { max: 1, onnotice: () => {}, connect_timeout: 10 })
  const target = postgres(opts.to, { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    const [counts] = await source<{ users: string; contents: string; votes: string }[]>`
      select (select count(*) from auth_user) as users, (select count(*) from api_content) as contents, (select count(*) from api_vote) as votes`
    const total = { users: Number(counts!.users), contents: Number(counts!.contents), votes: Number(counts!.votes) }
    const report: ImportReport = {
      users: { read: 0, imported: 0, present: 0, skipped: 0, inactive: 0 }, collisions: [],
      contents: { read: 0, imported: 0, present: 0 },
      votes: { read: 0, imported: 0, present: 0, duplicates: 0, nullContent: 0, unknownUser: 0, unknownContent: 0, badScore: 0 },
      seconds: 0,
    }
    // Rolled back at the end of each table for a dry run: the reading, planning and counting all happen.
    const inTable = async (work: (tx: postgres.TransactionSql) => Promise<void>) => {
      const dry = new Error('dry run')
      try {
        await target.begin(async (tx) => {
          await work(tx)
          if (opts.dryRun) throw dry
        })
      } catch (err) {
        if (err !== dry) throw err
      }
    }

    // Users: names planned in memory first (collisions need every name), then moved in one statement.
    const people: { id: number; username: string }[] = []
    await eachBatch(source, (sql) => sql<{ id: number; username: string }[]>`select id, username from auth_user order by id`, async (rows) => {
      for (const r of rows) people.push({ id: r.id, username: r.username })
    })
    const existing = await target<{ id: number; username_key: string }[]>`select id, username_key from users`
    const taken = new Map(existing.map((r) => [r.username_key, r.id]))
    const plan = planNames(people, opts.onCollision, taken)
    report.collisions = plan.collisions
    if (opts.onCollision === 'refuse' && plan.collisions.length > 0) {
      throw new ImportRefused(`${plan.collisions.length} username(s) collide under tally's case-insensitive rule; nothing was written. ` +
        'Rerun with --on-collision=suffix (rename the later accounts) or --on-collision=skip (leave them and their votes out)', plan.collisions)
    }
    // A tally account holding an old user's id under another name: importing would give one the other's votes.
    const oldIds = new Set(people.map((p) => p.id))
    const clashes = existing.filter((r) => oldIds.has(r.id) && plan.names.get(r.id)?.key !== r.username_key)
    if (clashes.length > 0) {
      throw new ImportRefused(`${clashes.length} account(s) of this database hold ids of the Django users under other names ` +
        `(ids ${clashes.slice(0, 10).map((c) => c.id).join(', ')}${clashes.length > 10 ? ', …' : ''}); import into an empty database`)
    }
    await inTable(async (tx) => {
      await tx`create temp table import_users (id int primary key, username text, username_key text, password text, email text,
        first_name text, last_name text, date_joined timestamptz, is_active boolean) on commit drop`
      const step = progress(opts.log, 'users', total.users)
      await eachBatch(source, (sql) => sql<Record<string, unknown>[]>`
        select id, password, email, first_name, last_name, date_joined, is_active from auth_user order by id`, async (rows) => {
        const kept = (rows as { id: number; password: string; email: string; first_name: string; last_name: string; date_joined: Date; is_active: boolean }[])
          .filter((r) => !plan.skipped.has(r.id))
        report.users.read += rows.length
        report.users.skipped += rows.length - kept.length
        if (kept.length > 0) {
          await tx`insert into import_users select * from unnest(${kept.map((r) => r.id)}::int[], ${kept.map((r) => plan.names.get(r.id)!.username)}::text[],
            ${kept.map((r) => plan.names.get(r.id)!.key)}::text[], ${kept.map((r) => r.password)}::text[], ${kept.map((r) => r.email)}::text[],
            ${kept.map((r) => r.first_name)}::text[], ${kept.map((r) => r.last_name)}::text[], ${kept.map((r) => new Date(r.date_joined).toISOString())}::text[]::timestamptz[],
            ${kept.map((r) => String(r.is_active))}::text[]::boolean[])`
        }
        step(report.users.read)
      })
      const [moved] = await tx<{ imported: number; inactive: number }[]>`
        with moved as (
          insert into users (id, username, username_key, password_hash, email, first_name, last_name, created_at, is_active) overriding system value
          select id, username, username_key, password, email, first_name, last_name, date_joined, is_active from import_users
          on conflict do nothing
          returning is_active
        )
        select count(*)::int as imported, count(*) filter (where not is_active)::int as inactive from moved`
      report.users.imported = moved!.imported
      report.users.inactive = moved!.inactive
      report.users.present = report.users.read - report.users.skipped - moved!.imported
      // New users registered in tally get ids after the highest imported one.
      await tx`select setval(pg_get_serial_sequence('users', 'id'), greatest((select max(id) from users), 1))`
    })

    await inTable(async (tx) => {
      await tx`create temp table import_contents (id int primary key, created_at timestamptz, title text, description text) on commit drop`
      const step = progress(opts.log, 'contents', total.contents)
      await eachBatch(source, (sql) => sql<{ id: string; created_at: Date; title: string; description: string }[]>`
        select id, created_at, title, description from api_content order by id`, async (rows) => {
        await tx`insert into import_contents select * from unnest(${rows.map((r) => r.id)}::int[], ${rows.map((r) => new Date(r.created_at).toISOString())}::text[]::timestamptz[],
          ${rows.map((r) => r.title)}::text[], ${rows.map((r) => r.description)}::text[])`
        report.contents.read += rows.length
        step(report.contents.read)
      })
      const [moved] = await tx<{ n: number }[]>`
        with moved as (
          insert into contents (id, created_at, title, description, author_id) overriding system value
          select id, created_at, title, description, null from import_contents on conflict do nothing returning 1
        ) select count(*)::int as n from moved`
      report.contents.imported = moved!.n
      report.contents.present = report.contents.read - moved!.n
      await tx`select setval(pg_get_serial_sequence('contents', 'id'), greatest((select max(id) from contents), 1))`
    })

    await inTable(async (tx) => {
      await tx`create temp table import_votes (id bigint, user_id int, content_id bigint, score int) on commit drop`
      const step = progress(opts.log, 'votes', total.votes)
      await eachBatch(source, (sql) => sql<{ id: string; user_id: number; content_id: string | null; score: number }[]>`
        select id, user_id, content_id, score from api_vote`, async (rows) => {
        await tx`insert into import_votes select * from unnest(${rows.map((r) => r.id)}::int8[], ${rows.map((r) => r.user_id)}::int[],
          ${rows.map((r) => r.content_id)}::int8[], ${rows.map((r) => r.score)}::int[])`
        report.votes.read += rows.length
        step(report.votes.read)
      })
      opts.log(`votes: the newest per user and content into votes, in one statement (${report.votes.read} rows)`)
      const moving = Date.now()
      // The newest (highest id) of each user and content wins; its version is the old id, below any tally
      // version (a stream entry id, ms * 2^21 + seq), so every vote cast in tally afterwards is newer.
      const [r] = await tx<{ imported: number; newest: number; valid: number; null_content: number; bad_score: number; unknown_user: number; unknown_content: number }[]>`
        with classified as (
          select v.*, case
            when v.content_id is null then 'null_content'
            when v.score < 0 or v.score > 5 then 'bad_score'
            when not exists (select 1 from users u where u.id = v.user_id) then 'unknown_user'
            when not exists (select 1 from contents c where c.id = v.content_id) then 'unknown_content'
            else 'ok' end as verdict
          from import_votes v
        ), newest as (
          select distinct on (user_id, content_id) id, user_id, content_id, score from classified where verdict = 'ok'
          order by user_id, content_id, id desc
        ), moved as (
          insert into votes (user_id, content_id, score, version, updated_at)
          select user_id, content_id::int, score, id, now() from newest on conflict do nothing returning 1
        )
        select (select count(*) from moved)::int as imported, (select count(*) from newest)::int as newest,
          (select count(*) from classified where verdict = 'ok')::int as valid,
          (select count(*) from classified where verdict = 'null_content')::int as null_content,
          (select count(*) from classified where verdict = 'bad_score')::int as bad_score,
          (select count(*) from classified where verdict = 'unknown_user')::int as unknown_user,
          (select count(*) from classified where verdict = 'unknown_content')::int as unknown_content`
      Object.assign(report.votes, {
        imported: r!.imported, present: r!.newest - r!.imported, duplicates: r!.valid - r!.newest,
        nullContent: r!.null_content, badScore: r!.bad_score, unknownUser: r!.unknown_user, unknownContent: r!.unknown_content,
      })
      opts.log(`votes: moved in ${((Date.now() - moving) / 1000).toFixed(1)} s; counts and sums of every content from its votes`)
      // Counts and sums from the votes rows, never from the old average_vote (recomputed racily there).
      await tx`
        update contents c set vote_count = coalesce(v.n, 0), vote_sum = coalesce(v.s, 0)
        from (select c2.id, v2.n, v2.s from contents c2 left join
          (select content_id, count(*)::int as n, sum(score)::bigint as s from votes group by content_id) v2 on v2.content_id = c2.id) v
        where c.id = v.id and (c.vote_count <> coalesce(v.n, 0) or c.vote_sum <> coalesce(v.s, 0))`
    })
    report.seconds = (Date.now() - started) / 1000
    return report
  } finally {
    await source.end()
    await target.end()
  }
}

export function formatImportReport(r: ImportReport, dryRun: boolean): string {
  return [
    `${dryRun ? 'dry run, nothing written: ' : ''}import of the Django service in ${r.seconds.toFixed(1)} s`,
    `users: ${r.users.read} read, ${r.users.imported} imported (${r.users.inactive} inactive), ${r.users.present} already present, ${r.users.skipped} skipped`,
    ...r.collisions.map((c) => `  username ${JSON.stringify(c.username)} (id ${c.id}) collides with id ${c.collidesWith}: ${c.resolution}${c.renamedTo ? ` to ${JSON.stringify(c.renamedTo)}` : ''}`),
    `contents: ${r.contents.read} read, ${r.contents.imported} imported, ${r.contents.present} already present`,
    `votes: ${r.votes.read} read, ${r.votes.imported} imported, ${r.votes.present} already present, ${r.votes.duplicates} older duplicates of a newer vote, ` +
      `skipped: ${r.votes.nullContent} without a content, ${r.votes.badScore} with a score outside 0..5, ${r.votes.unknownUser} of an unknown or skipped user, ` +
      `${r.votes.unknownContent} of an unknown content`,
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { from: { type: 'string' }, 'on-collision': { type: 'string', default: 'refuse' }, 'dry-run': { type: 'boolean', default: false } } })
  const policy = values['on-collision']
  if (!values.from || !['refuse', 'suffix', 'skip'].includes(policy!)) {
    console.error('usage: npm run import:django -- --from postgres://…/olddb [--on-collision=suffix|skip] [--dry-run]')
    process.exit(2)
  }
  const [{ loadConfigOrExit }, { migrateDatabase }, { createDb }, { createRedis, closeRedis }, { redisKeys }, { redisTarget }, { rebuildContentIndex }, { announceAllChanged }] = await Promise.all([
    import('../config.js'), import('../db/migrate.js'), import('../db/client.js'), import('../redis/client.js'), import('../redis/keys.js'),
    import('../redis/target.js'), import('../content-index.js'), import('../read-changes.js')])
  const config = loadConfigOrExit('import:django')
  const dryRun = values['dry-run']!
  try {
    if (!dryRun) await migrateDatabase(config.DATABASE_URL)
    const report = await importDjango({ from: values.from, to: config.DATABASE_URL, onCollision: policy as CollisionPolicy, dryRun, log: (l) => console.error(l) })
    console.log(formatImportReport(report, dryRun))
    if (!dryRun) {
      // Votes for the imported contents must not be refused as unknown, and cached pages must go.
      const db = createDb(config.DATABASE_URL, { max: 1 })
      const redis = createRedis(redisTarget(config), { commandTimeoutMs: 10_000 })
      try {
        const keys = redisKeys(config.REDIS_PREFIX, config.VOTE_STREAM_SHARDS)
        const indexed = await rebuildContentIndex(db, redis, keys)
        await announceAllChanged(redis, keys.readChanges)
        console.log(`redis: content index rebuilt (${indexed} contents)`)
      } finally {
        await closeRedis(redis)
        await db.close()
      }
    }
  } catch (err) {
    if (!(err instanceof ImportRefused)) throw err
    for (const c of err.collisions) console.error(`  username ${JSON.stringify(c.username)} (id ${c.id}) collides with id ${c.collidesWith}`)
    console.error(`import:django: ${err.message}`)
    process.exitCode = 1
  }
}
