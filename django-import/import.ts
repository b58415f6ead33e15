/**
 * The Django service's users, contents and votes into tally's database (cli/import-django.ts, `npm run
 * import:django`, migrates it first and rebuilds the content index in Redis after). The old database is read in
 * one read-only, repeatable-read transaction (one snapshot: its start is the cut-over recorded in legacy_imports);
 * tally's is written in one transaction, so a failure, a refusal or a dry run leaves nothing behind. Set-based:
 * each old table is read with a cursor in batches into a temporary table, and moved by one statement.
 * Re-runnable: docs/django-import.md says what a re-run brings over and what it leaves.
 */
import postgres from 'postgres'
import type { CollisionPolicy } from './collisions.js'
import type { BadHashPolicy, ImportContext, ImportOptions } from './import-context.js'
import { importContents } from './import-contents.js'
import { importUsers } from './import-users.js'
import { importVotes } from './import-votes.js'
import { RERANK_HEAD, RERANK_TAIL } from '../shared/db/rank-keys.js'
import { emptyReport, formatImportReport, ImportRefused, type ImportReport } from './report.js'
import { continueSequence, oldLastId, readOldIds } from './sequences.js'

export { formatImportReport, ImportRefused, type BadHashPolicy, type CollisionPolicy, type ImportOptions, type ImportReport }

const DRY_RUN = Symbol('dry run')

export async function importDjango(opts: ImportOptions): Promise<ImportReport> {
  const started = Date.now()
  // Named, so an operator sees the import in pg_stat_activity (and what it waits for).
  const connect = (url: string) => postgres(url, {
    max: 1, onnotice: () => {}, connect_timeout: 10, connection: { application_name: 'tally-import' },
  })
  const source = connect(opts.from)
  const target = connect(opts.to)
  let report: ImportReport | undefined
  try {
    const [migrated] = await target<{ ok: boolean }[]>`select to_regclass('legacy_imports') is not null as ok`
    if (!migrated!.ok) {
      throw new ImportRefused('this database is not migrated to the current schema: ' +
        'run npm run db:migrate first (a dry run migrates nothing)')
    }
    await source.begin('isolation level repeatable read read only', async (src) => {
      // The first statement takes the snapshot; now() is the transaction's start, on the old database's clock, so
      // everything the old service committed before this instant is in what this run reads.
      const [head] = await src<{ read_at: Date; users: string; contents: string; votes: string }[]>`
        select now() as read_at, (select count(*) from auth_user) as users, (select count(*) from api_content) as contents,
          (select count(*) from api_vote) as votes`
      const r = emptyReport(new Date(head!.read_at))
      report = r
      const old = { users: await readOldIds(src, 'auth_user'), contents: await readOldIds(src, 'api_content') }
      // Before anything is written (and whatever follows): no tally sign-up or content takes an old id meanwhile.
      r.ids.users = {
        oldMaxId: old.users.maxId,
        oldSequence: old.users.sequence,
        continuesAfter: await continueSequence(target, 'users', oldLastId(old.users), !opts.dryRun),
      }
      r.ids.contents = {
        oldMaxId: old.contents.maxId,
        oldSequence: old.contents.sequence,
        continuesAfter: await continueSequence(target, 'contents', oldLastId(old.contents), !opts.dryRun),
      }
      try {
        await target.begin(async (tx) => {
          const totals = { users: Number(head!.users), contents: Number(head!.contents), votes: Number(head!.votes) }
          const ctx: ImportContext = { source: src, target: tx, opts, report: r, totals }
          await importUsers(ctx)
          await importContents(ctx)
          await importVotes(ctx)
          // The imported contents take their places in the orderings with this commit (shared/db/rank-keys.ts), without
          // JIT, which compiled this cheap statement for longer than it runs.
          await tx`set local jit = off`
          await tx.unsafe(`${RERANK_HEAD} true ${RERANK_TAIL}`)
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
