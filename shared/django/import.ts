/**
 * `npm run import:django -- --from postgres://…/olddb [--on-collision=suffix|skip] [--on-bad-hash=unusable] [--dry-run]`:
 * the Django service's users, contents and votes into the database of DATABASE_URL (migrated first), then the
 * content index in Redis rebuilt. The old database is read in one read-only, repeatable-read transaction (one
 * snapshot: its start is the cut-over recorded in legacy_imports); tally's is written in one transaction, so a
 * failure, a refusal or a dry run leaves nothing behind. Set-based: each old table is read with a cursor in batches
 * into a temporary table, and moved by one statement. Re-runnable: docs/django-import.md says what a re-run brings
 * over and what it leaves.
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import type { CollisionPolicy } from './collisions.js'
import type { BadHashPolicy, ImportContext, ImportOptions } from './import-context.js'
import { importContents } from './import-contents.js'
import { importUsers } from './import-users.js'
import { importVotes } from './import-votes.js'
import { emptyReport, formatImportReport, ImportRefused, type ImportReport } from './report.js'
import { continueSequence, oldLastId, readOldIds } from './sequences.js'

export { formatImportReport, ImportRefused, type ImportOptions, type ImportReport }

const DRY_RUN = Symbol('dry run')

export async function importDjango(opts: ImportOptions): Promise<ImportReport> {
  const started = Date.now()
  // Named, so an operator sees the import in pg_stat_activity (and what it waits for).
  const connect = (url: string) => postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10, connection: { application_name: 'tally-import' } })
  const source = connect(opts.from)
  const target = connect(opts.to)
  let report: ImportReport | undefined
  try {
    const [migrated] = await target<{ ok: boolean }[]>`select to_regclass('legacy_imports') is not null as ok`
    if (!migrated!.ok) throw new ImportRefused('this database is not migrated to the current schema: run npm run db:migrate first (a dry run migrates nothing)')
    await source.begin('isolation level repeatable read read only', async (src) => {
      // The first statement takes the snapshot; now() is the transaction's start, on the old database's clock, so
      // everything the old service committed before this instant is in what this run reads.
      const [head] = await src<{ read_at: Date; users: string; contents: string; votes: string }[]>`
        select now() as read_at, (select count(*) from auth_user) as users, (select count(*) from api_content) as contents, (select count(*) from api_vote) as votes`
      const r = emptyReport(new Date(head!.read_at))
      report = r
      const old = { users: await readOldIds(src, 'auth_user'), contents: await readOldIds(src, 'api_content') }
      // Before anything is written (and whatever follows): no tally sign-up or content takes an old id meanwhile.
      r.ids.users = { oldMaxId: old.users.maxId, oldSequence: old.users.sequence, continuesAfter: await continueSequence(target, 'users', oldLastId(old.users), !opts.dryRun) }
      r.ids.contents = {
        oldMaxId: old.contents.maxId, oldSequence: old.contents.sequence, continuesAfter: await continueSequence(target, 'contents', oldLastId(old.contents), !opts.dryRun),
      }
      try {
        await target.begin(async (tx) => {
          const ctx: ImportContext = { source: src, target: tx, opts, report: r, totals: { users: Number(head!.users), contents: Number(head!.contents), votes: Number(head!.votes) } }
          await importUsers(ctx)
          await importContents(ctx)
          await importVotes(ctx)
          await tx`insert into legacy_imports (source_read_at, users_last_id, contents_last_id)
            values (${r.sourceReadAt}, ${oldLastId(old.users)}, ${oldLastId(old.contents)})`
          if (opts.dryRun) throw DRY_RUN
        })
      } catch (err) {
        if (err !== DRY_RUN) throw err
      }
    })
    report!.seconds = (Date.now() - started) / 1000
    return report!
  } finally {
    await source.end()
    await target.end()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: {
    from: { type: 'string' }, 'on-collision': { type: 'string', default: 'refuse' }, 'on-bad-hash': { type: 'string', default: 'refuse' },
    'dry-run': { type: 'boolean', default: false },
  } })
  const onCollision = values['on-collision'] as CollisionPolicy
  const onBadHash = values['on-bad-hash'] as BadHashPolicy
  if (!values.from || !['refuse', 'suffix', 'skip'].includes(onCollision) || !['refuse', 'unusable'].includes(onBadHash)) {
    console.error('usage: npm run import:django -- --from postgres://…/olddb [--on-collision=suffix|skip] [--on-bad-hash=unusable] [--dry-run]')
    process.exit(2)
  }
  const [{ loadConfigOrExit }, { migrateDatabase }, { createDb }, { createRedis, closeRedis }, { redisKeys }, { redisTarget }, { rebuildContentIndex }, { announceAllChanged }] = await Promise.all([
    import('../config.js'), import('../db/migrate.js'), import('../db/client.js'), import('../redis/client.js'), import('../redis/keys.js'),
    import('../redis/target.js'), import('../content-index.js'), import('../read-changes.js')])
  const config = loadConfigOrExit('import:django')
  const dryRun = values['dry-run']!
  try {
    if (!dryRun) await migrateDatabase(config.DATABASE_URL)
    const report = await importDjango({ from: values.from, to: config.DATABASE_URL, onCollision, onBadHash, dryRun, log: (l) => console.error(l) })
    console.log(formatImportReport(report, dryRun, onBadHash))
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
    for (const line of err.lines) console.error(line)
    console.error(`import:django: ${err.message}`)
    process.exitCode = 1
  }
}
