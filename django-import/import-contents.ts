import { eachBatch, progress, type ImportContext } from './import-context.js'
import { contentClashLine, ImportRefused } from './report.js'

/**
 * api_content into contents (same id, no author: the old model has none), and legacy_contents beside them. An old
 * content is matched only with one an import brought over: a tally content under the same id is a clash, refused or
 * (--on-collision=skip) skipped with its votes, never merged. Contents imported before are left as they are (a
 * title changed in the old service is not brought over).
 */
export async function importContents(ctx: ImportContext): Promise<void> {
  const { source, target, opts, report, totals } = ctx
  await target`create temp table import_contents (id int primary key, created_at timestamptz, title text, description text)
    on commit drop`
  const step = progress(opts.log, 'contents', totals.contents)
  // created_at as text: a JavaScript Date would drop its microseconds.
  await eachBatch(source<{ id: string; created_at: string; title: string; description: string }[]>`
    select id, created_at::text as created_at, title, description from api_content order by id`, async (rows) => {
    await target`insert into import_contents select * from unnest(${rows.map((r) => r.id)}::int[],
      ${rows.map((r) => r.created_at)}::text[]::timestamptz[], ${rows.map((r) => r.title)}::text[],
      ${rows.map((r) => r.description)}::text[])`
    report.contents.read += rows.length
    step(report.contents.read)
  })

  // Upgrade path: contents an import from before migration 0010 wrote (no author, same title, the old created_at
  // through a JavaScript Date) are recorded as imported; a tally content always has now() as created_at.
  const [adopted] = await target<{ n: number }[]>`
    with adopted as (
      insert into legacy_contents (content_id)
      select i.id from import_contents i join contents c on c.id = i.id
      where c.author_id is null and c.title = i.title and c.created_at between i.created_at - interval '1 millisecond' and i.created_at
        and not exists (select 1 from legacy_contents l where l.content_id = i.id)
      returning 1
    ) select count(*)::int as n from adopted`
  report.contents.adopted = adopted!.n

  const clashes = await target<{ id: number; title: string; tally_title: string }[]>`
    select i.id, i.title, c.title as tally_title from import_contents i join contents c on c.id = i.id
    where not exists (select 1 from legacy_contents l where l.content_id = i.id) order by i.id`
  if (clashes.length > 0) {
    const found = clashes.map((c) => ({ id: c.id, title: c.title, tallyTitle: c.tally_title }))
    if (opts.onCollision !== 'skip') {
      throw new ImportRefused(`${clashes.length} content(s) of this database hold ids of the old service's contents ` +
        'but were not imported by it; nothing was written. Rerun with --on-collision=skip to leave those old contents and their votes out',
      found.map((c) => contentClashLine(c, 'refused')))
    }
    await target`delete from import_contents where id = any(${clashes.map((c) => c.id)}::int[])`
    report.contentClashes = found
    report.contents.skipped = clashes.length
  }

  // Only contents no run imported yet: one imported and deleted in tally since stays deleted. No statement when there
  // is none: its counter trigger would hold the counters row, and every content created in tally, until COMMIT.
  const [fresh] = await target<{ any: boolean }[]>`
    select exists (select 1 from import_contents i where not exists (select 1 from legacy_contents l where l.content_id = i.id)) as any`
  if (!fresh!.any) {
    report.contents.present = report.contents.read - report.contents.skipped
    return
  }
  const [moved] = await target<{ n: number }[]>`
    with moved as (
      insert into contents (id, created_at, title, description, author_id) overriding system value
      select id, created_at, title, description, null from import_contents i
      where not exists (select 1 from legacy_contents l where l.content_id = i.id)
      returning id
    ), recorded as (
      insert into legacy_contents (content_id) select id from moved
    ) select count(*)::int as n from moved`
  report.contents.imported = moved!.n
  report.contents.present = report.contents.read - report.contents.skipped - moved!.n
}
