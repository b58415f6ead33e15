import { eachBatch, progress, type ImportContext } from './import-context.js'
import { LOCKED_COLUMNS, VOTE_TOTALS_CTES, VOTE_UPSERT_TAIL } from '../shared/db/vote-totals.js'

/**
 * api_vote into votes: the newest (highest id) of each user and content, of an imported user on an imported
 * content. Its version is the old id, below every version tally gives (a stream entry id, ms * 2^21 + seq: see
 * shared/entry-version.ts), so a vote cast in tally is always newer, and a vote changed in the old service since the
 * last run (a higher id) replaces an imported one that tally has not replaced.
 *
 * Consumers may be applying votes meanwhile. The totals are never recomputed from this statement's snapshot (a
 * vote a consumer commits after it would be lost from them for good, and a later re-vote would fail the sum
 * CHECK). As consumer/apply.ts does, the statement locks the contents rows its votes touch FOR NO KEY UPDATE in
 * ascending id order (the consumers' order: no deadlock), upserts with the version check, and adds the deltas of
 * the rows it changed (new: +1, +score; changed: +new−old, the old score read from the row it replaced) to the
 * totals the lock returned, which are the newest and stay so until COMMIT.
 */
export async function importVotes(ctx: ImportContext): Promise<void> {
  const { source, target, opts, report, totals } = ctx
  await target`create temp table import_votes (id bigint, user_id int, content_id bigint, score int) on commit drop`
  const step = progress(opts.log, 'votes', totals.votes)
  await eachBatch(source<{ id: string; user_id: number; content_id: string | null; score: number }[]>`
    select id, user_id, content_id, score from api_vote`, async (rows) => {
    await target`insert into import_votes select * from unnest(${rows.map((r) => r.id)}::int8[], ${rows.map((r) => r.user_id)}::int[],
      ${rows.map((r) => r.content_id)}::int8[], ${rows.map((r) => r.score)}::int[])`
    report.votes.read += rows.length
    step(report.votes.read)
  })
  opts.log(`votes: the newest per user and content into votes, with the totals' deltas, in one statement (${report.votes.read} rows)`)
  const moving = Date.now()
  // `changing` is read from the statement's snapshot only to choose which contents to lock (a re-run that changes
  // little locks little); the upsert's version check, on the newest row version, decides what is written.
  const [r] = await target<{ imported: number; updated: number; newest: number; valid: number; null_content: number; bad_score: number;
    unknown_user: number; unknown_content: number }[]>`
    with classified as (
      select v.*, case
        when v.content_id is null then 'null_content'
        when v.score < 0 or v.score > 5 then 'bad_score'
        when not exists (select 1 from legacy_accounts a join users u on u.id = a.user_id where a.user_id = v.user_id) then 'unknown_user'
        when not exists (select 1 from legacy_contents l join contents c on c.id = l.content_id where l.content_id = v.content_id)
          then 'unknown_content'
        else 'ok' end as verdict
      from import_votes v
    ), newest as (
      select distinct on (user_id, content_id) id, user_id, content_id::int as content_id, score from classified where verdict = 'ok'
      order by user_id, content_id, id desc
    ), changing as (
      select n.* from newest n left join votes v on v.user_id = n.user_id and v.content_id = n.content_id
      where v.version is null or v.version < n.id
    ), locked as (
      select ${target.unsafe(LOCKED_COLUMNS)} from contents where id in (select content_id from changing) order by id for no key update
    ), upserted as (
      insert into votes as v (user_id, content_id, score, version, updated_at)
      select user_id, content_id, score, id, now() from changing where content_id in (select id from locked)
${target.unsafe(VOTE_UPSERT_TAIL)}
    ), ${target.unsafe(VOTE_TOTALS_CTES)}
    select (select count(*) from upserted where prev_score is null)::int as imported,
      (select count(*) from upserted where prev_score is not null)::int as updated,
      (select count(*) from newest)::int as newest, verdicts.*
    from (select count(*) filter (where verdict = 'ok')::int as valid,
      count(*) filter (where verdict = 'null_content')::int as null_content,
      count(*) filter (where verdict = 'bad_score')::int as bad_score,
      count(*) filter (where verdict = 'unknown_user')::int as unknown_user,
      count(*) filter (where verdict = 'unknown_content')::int as unknown_content from classified) verdicts`
  Object.assign(report.votes, {
    imported: r!.imported, updated: r!.updated, present: r!.newest - r!.imported - r!.updated, duplicates: r!.valid - r!.newest,
    nullContent: r!.null_content, badScore: r!.bad_score, unknownUser: r!.unknown_user, unknownContent: r!.unknown_content,
  })
  opts.log(`votes: moved in ${((Date.now() - moving) / 1000).toFixed(1)} s`)
}
