import { planNames, type NamePlan } from './collisions.js'
import { djangoHashProblem, wrapCheapHash } from '../shared/django/hashes.js'
import { eachBatch, progress, type ImportContext } from './import-context.js'
import { badHashLine, collisionLine, ImportRefused, userClashLine, type ImportReport } from './report.js'

/**
 * auth_user into users, and legacy_accounts beside them (what this run read and wrote per account).
 *
 * A re-run brings the old service's changes over while the tally row still holds what the last run wrote
 * (users.password_hash = written_hash, users.is_active = is_active): a new password hash, is_active, e-mail and
 * names. Once tally changed the row (the first login replaces the hash with tally's argon2id), tally wins and the
 * row is left. A username changed there is reported and not applied: the account keeps the name it has in tally.
 */

/** Django's unusable password ("!…"): never verifies (shared/django/hashes.ts), as for a user with no password. */
const UNUSABLE = '!'

interface DjangoUser {
  id: number; username: string; password: string; email: string; first_name: string; last_name: string; date_joined: string
  is_active: boolean
}
interface Snapshot { user_id: number; source_hash: string; written_hash: string; adopted: boolean }

export async function importUsers(ctx: ImportContext): Promise<void> {
  const plan = await planUsernames(ctx)
  await loadUsers(ctx, plan)
  await settleClashes(ctx)
  await moveUsers(ctx)
}

/** Every old username against tally's rule and tally's names, in memory (collisions need every name). */
async function planUsernames({ source, target, opts, report }: ImportContext): Promise<NamePlan> {
  const people: { id: number; username: string }[] = []
  await eachBatch(source<{ id: number; username: string }[]>`select id, username from auth_user order by id`, async (rows) => {
    for (const r of rows) people.push({ id: r.id, username: r.username })
  })
  const existing = await target<{ id: number; username: string; username_key: string; imported: boolean }[]>`
    select u.id, u.username, u.username_key, l.user_id is not null as imported from users u left join legacy_accounts l on l.user_id = u.id`
  // An account imported before keeps its tally name, so a new old account is planned around the names tally really holds.
  const importedNames = new Map(existing.filter((r) => r.imported).map((r) => [r.id, r.username]))
  const plan = planNames(people.map((p) => ({ id: p.id, username: importedNames.get(p.id) ?? p.username })), opts.onCollision,
    new Map(existing.map((r) => [r.username_key, r.id])))
  report.collisions = plan.collisions
  if (opts.onCollision === 'refuse' && plan.collisions.length > 0) {
    throw new ImportRefused(`${plan.collisions.length} username(s) collide under tally's case-insensitive rule; nothing was written. ` +
      'Rerun with --on-collision=suffix (rename the later accounts) or --on-collision=skip (leave them and their votes out)',
    plan.collisions.map(collisionLine))
  }
  return plan
}

/**
 * The old rows into a temporary table, with the hash to write for each: validated, the cheap digests wrapped. Per
 * batch, one statement adopts accounts of an import from before legacy_accounts and returns what earlier runs
 * recorded, so a hash an earlier run converted is not converted again (a new salt every run would look like a change).
 */
async function loadUsers(ctx: ImportContext, plan: NamePlan): Promise<void> {
  const { source, target, opts, report, totals } = ctx
  await target`create temp table import_users (id int primary key, username text, username_key text, django_username text, password text,
    written text, email text, first_name text, last_name text, date_joined timestamptz, is_active boolean) on commit drop`
  const step = progress(opts.log, 'users', totals.users)
  await eachBatch(source<DjangoUser[]>`
    select id, username, password, email, first_name, last_name, date_joined::text as date_joined, is_active
    from auth_user order by id`, async (rows) => {
    report.users.read += rows.length
    const kept = rows.filter((r) => !plan.skipped.has(r.id))
    report.users.skipped += rows.length - kept.length
    if (kept.length > 0) {
      const names = kept.map((r) => plan.names.get(r.id)!)
      const snapshots = await snapshotsOf(ctx, kept, names.map((n) => n.key))
      const written = await Promise.all(kept.map((r) => hashToWrite(r, snapshots.get(r.id), report.badHashes)))
      await target`insert into import_users select * from unnest(${kept.map((r) => r.id)}::int[], ${names.map((n) => n.username)}::text[],
        ${names.map((n) => n.key)}::text[], ${kept.map((r) => r.username)}::text[], ${kept.map((r) => r.password)}::text[],
        ${written}::text[],
        ${kept.map((r) => r.email)}::text[], ${kept.map((r) => r.first_name)}::text[], ${kept.map((r) => r.last_name)}::text[],
        ${kept.map((r) => r.date_joined)}::text[]::timestamptz[], ${kept.map((r) => String(r.is_active))}::text[]::boolean[])`
    }
    step(report.users.read)
  })
  if (report.badHashes.length > 0 && opts.onBadHash === 'refuse') {
    throw new ImportRefused(`${report.badHashes.length} password hash(es) of the old service are outside what tally accepts; ` +
      'nothing was written. ' +
      'Rerun with --on-bad-hash=unusable to import those users with an unusable password (they cannot log in until given a new one)',
    report.badHashes.map((b) => badHashLine(b, 'refused')))
  }
}

/**
 * legacy_accounts of this batch's ids, after adopting (upgrade path) the accounts an import from before migration
 * 0010 wrote: same id, same username key, and either the old service's current hash or its date_joined as created_at
 * (tally's own sign-ups get now(); the import then went through a JavaScript Date, hence the millisecond). Such a row
 * is recorded as written: its hash if it is still one the old service wrote, else (upgraded at a login) as changed.
 */
async function snapshotsOf({ target, report }: ImportContext, rows: DjangoUser[], keys: string[]): Promise<Map<number, Snapshot>> {
  const ids = rows.map((r) => r.id)
  const snapshots = await target<Snapshot[]>`
    with b as (
      select * from unnest(${ids}::int[], ${keys}::text[], ${rows.map((r) => r.password)}::text[],
        ${rows.map((r) => r.date_joined)}::text[]::timestamptz[], ${rows.map((r) => r.username)}::text[])
        as b(id, username_key, password, date_joined, username)
    ), adopted as (
      insert into legacy_accounts (user_id, source_hash, written_hash, is_active, username, email, first_name, last_name)
      select u.id, case when u.password_hash like '$%' then b.password else u.password_hash end,
        case when u.password_hash like '$%' then b.password else u.password_hash end,
        u.is_active, b.username, u.email, u.first_name, u.last_name
      from b join users u on u.id = b.id and u.username_key = b.username_key
      where not exists (select 1 from legacy_accounts l where l.user_id = b.id)
        and (u.password_hash = b.password or u.created_at between b.date_joined - interval '1 millisecond' and b.date_joined)
      returning user_id, source_hash, written_hash
    )
    select user_id, source_hash, written_hash, false as adopted from legacy_accounts where user_id = any(${ids}::int[])
    union all select user_id, source_hash, written_hash, true from adopted`
  report.users.adopted += snapshots.filter((s) => s.adopted).length
  return new Map(snapshots.map((s) => [s.user_id, s]))
}

/** What users.password_hash gets for this old row: the hash an earlier run made of it, unusable, wrapped, or as it is. */
async function hashToWrite(r: DjangoUser, s: Snapshot | undefined, badHashes: ImportReport['badHashes']): Promise<string> {
  if (s && s.source_hash === r.password && s.written_hash !== r.password) return s.written_hash
  const problem = djangoHashProblem(r.password)
  if (problem) {
    badHashes.push({ id: r.id, username: r.username, reason: problem })
    return UNUSABLE
  }
  return wrapCheapHash(r.password)
}

/** Accounts of this database under an old user's id that no import wrote: never merged; refused, or skipped with --on-collision=skip. */
async function settleClashes({ target, opts, report }: ImportContext): Promise<void> {
  const clashes = await target<{ id: number; username: string; tally_username: string }[]>`
    select i.id, i.django_username as username, u.username as tally_username from import_users i join users u on u.id = i.id
    where not exists (select 1 from legacy_accounts l where l.user_id = i.id) order by i.id`
  if (clashes.length === 0) return
  const found = clashes.map((c) => ({ id: c.id, username: c.username, tallyUsername: c.tally_username }))
  if (opts.onCollision !== 'skip') {
    throw new ImportRefused(`${clashes.length} account(s) of this database hold ids of the old service's users ` +
      'but were not imported by it; nothing was written. Rerun with --on-collision=skip to leave those old users and their votes out',
    found.map((c) => userClashLine(c, 'refused')))
  }
  await target`delete from import_users where id = any(${clashes.map((c) => c.id)}::int[])`
  report.userClashes = found
  report.users.skipped += clashes.length
}

/**
 * New accounts inserted; imported ones the old service changed updated while tally has not changed them; both
 * recorded in legacy_accounts. One statement. The update's condition reads users' own columns, so a login that
 * upgrades the hash meanwhile is seen (PostgreSQL re-checks it on the newest row version) and wins.
 */
async function moveUsers({ target, report }: ImportContext): Promise<void> {
  const [r] = await target<{ imported: number; inactive: number; updated: number; passwords: number; deactivated: number;
    reactivated: number; names: number; wrapped: number; kept: number }[]>`
    with prior as (
      select i.*, l.source_hash, l.written_hash, l.is_active as was_active, i.password <> l.source_hash as new_password,
        (i.email, i.first_name, i.last_name) is distinct from (l.email, l.first_name, l.last_name) as new_names
      from import_users i join legacy_accounts l on l.user_id = i.id
    ), changed as (
      select *, new_password or is_active <> was_active or new_names as django_changed from prior
      where new_password or is_active <> was_active or new_names or written <> written_hash
    ), updated as (
      update users u set password_hash = c.written, is_active = c.is_active,
        email = c.email, first_name = c.first_name, last_name = c.last_name
      from changed c where u.id = c.id and u.password_hash = c.written_hash and u.is_active = c.was_active
      returning u.id
    ), inserted as (
      insert into users (id, username, username_key, password_hash, email, first_name, last_name, created_at, is_active)
      overriding system value
      select id, username, username_key, written, email, first_name, last_name, date_joined, is_active from import_users i
      where not exists (select 1 from legacy_accounts l where l.user_id = i.id)
      returning id, is_active
    ), recorded as (
      insert into legacy_accounts (user_id, source_hash, written_hash, is_active, username, email, first_name, last_name)
      select id, password, written, is_active, django_username, email, first_name, last_name from import_users
      where id in (select id from inserted) or id in (select id from updated)
      on conflict (user_id) do update set source_hash = excluded.source_hash, written_hash = excluded.written_hash,
        is_active = excluded.is_active, email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name,
        updated_at = now()
    )
    select (select count(*) from inserted)::int as imported, (select count(*) from inserted where not is_active)::int as inactive,
      count(u.id)::int as updated, count(u.id) filter (where c.new_password)::int as passwords,
      count(u.id) filter (where c.was_active and not c.is_active)::int as deactivated,
      count(u.id) filter (where not c.was_active and c.is_active)::int as reactivated,
      count(u.id) filter (where c.new_names)::int as names,
      count(u.id) filter (where not c.new_password and c.written <> c.written_hash)::int as wrapped,
      count(*) filter (where u.id is null and c.django_changed)::int as kept
    from changed c left join updated u on u.id = c.id`
  const users = report.users
  Object.assign(users, r)
  users.unchanged = users.read - users.skipped - users.imported - users.updated - users.kept
  const renames = await target<{ id: number; django_username: string; imported_as: string; tally_username: string }[]>`
    select i.id, i.django_username, l.username as imported_as, u.username as tally_username
    from import_users i join legacy_accounts l on l.user_id = i.id join users u on u.id = i.id
    where i.django_username <> l.username order by i.id`
  report.renames = renames.map((n) => ({
    id: n.id, djangoUsername: n.django_username, importedAs: n.imported_as, tallyUsername: n.tally_username,
  }))
}
