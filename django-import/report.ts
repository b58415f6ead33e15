import type { Collision } from './collisions.js'

/** What one run of the Django import did (or, dry, would do): printed by formatImportReport. */
export interface ImportReport {
  /** The cut-over: the old database's clock when this run's read of it began (legacy_imports.source_read_at). */
  sourceReadAt: Date
  /** Per id sequence: the highest id the old service used (rows and sequence), and where tally's continues. */
  ids: Record<'users' | 'contents', { oldMaxId: number; oldSequence: number | null; continuesAfter: number }>
  users: {
    read: number
    imported: number
    inactive: number
    /** Accounts brought up to the old service's state (password, is_active, e-mail or names changed there). */
    updated: number
    passwords: number
    deactivated: number
    reactivated: number
    names: number
    /** Cheap digests an earlier import wrote as they were, wrapped into argon2id now. */
    wrapped: number
    /** Changed in the old service, but tally changed them since the last run (a login upgraded the hash): left. */
    kept: number
    unchanged: number
    skipped: number
    /** Accounts of an import from before migration 0010 recognised as imported (docs/django-import.md). */
    adopted: number
  }
  collisions: Collision[]
  /** Accounts of this database holding an old user's id without having been imported: never merged. */
  userClashes: { id: number; username: string; tallyUsername: string }[]
  /** Usernames changed in the old service since the account was imported: reported, tally's name kept. */
  renames: { id: number; djangoUsername: string; importedAs: string; tallyUsername: string }[]
  /** Hashes djangoHashProblem refused: the run refuses, or (--on-bad-hash=unusable) writes an unusable password. */
  badHashes: { id: number; username: string; reason: string }[]
  contents: { read: number; imported: number; present: number; adopted: number; skipped: number }
  /** Contents of this database holding an old content's id without having been imported: never merged. */
  contentClashes: { id: number; title: string; tallyTitle: string }[]
  votes: {
    read: number; imported: number; updated: number; present: number; duplicates: number
    nullContent: number; unknownUser: number; unknownContent: number; badScore: number
  }
  seconds: number
}

export function emptyReport(sourceReadAt: Date): ImportReport {
  const ids = { oldMaxId: 0, oldSequence: null, continuesAfter: 0 }
  return {
    sourceReadAt,
    ids: { users: { ...ids }, contents: { ...ids } },
    users: {
      read: 0, imported: 0, inactive: 0, updated: 0, passwords: 0, deactivated: 0, reactivated: 0, names: 0, wrapped: 0, kept: 0,
      unchanged: 0, skipped: 0, adopted: 0,
    },
    collisions: [], userClashes: [], renames: [], badHashes: [],
    contents: { read: 0, imported: 0, present: 0, adopted: 0, skipped: 0 },
    contentClashes: [],
    votes: { read: 0, imported: 0, updated: 0, present: 0, duplicates: 0, nullContent: 0, unknownUser: 0, unknownContent: 0, badScore: 0 },
    seconds: 0,
  }
}

/** The import stopped before writing anything; `lines` name each account or content that is why. */
export class ImportRefused extends Error {
  constructor(message: string, readonly lines: string[] = []) { super(message) }
}

const LISTED = 50

/** At most LISTED lines of a list that may hold thousands, and how many were left out. */
function listed<T>(items: T[], line: (item: T) => string): string[] {
  const lines = items.slice(0, LISTED).map(line)
  if (items.length > LISTED) lines.push(`  … and ${items.length - LISTED} more`)
  return lines
}

export const collisionLine = (c: Collision) =>
  `  username ${JSON.stringify(c.username)} (id ${c.id}) collides with id ${c.collidesWith}: ${c.resolution}` +
  (c.renamedTo ? ` to ${JSON.stringify(c.renamedTo)}` : '')
export const userClashLine = (c: ImportReport['userClashes'][number], what: string) =>
  `  user id ${c.id} (${JSON.stringify(c.username)} in Django) is held by tally's ${JSON.stringify(c.tallyUsername)}, ` +
  `which was not imported: ${what}`
export const contentClashLine = (c: ImportReport['contentClashes'][number], what: string) =>
  `  content id ${c.id} (${JSON.stringify(c.title)} in Django) is held by tally's ${JSON.stringify(c.tallyTitle)}, ` +
  `which was not imported: ${what}`
export const badHashLine = (b: ImportReport['badHashes'][number], what: string) =>
  `  user id ${b.id} (${JSON.stringify(b.username)}): ${b.reason}: ${what}`

export function formatImportReport(r: ImportReport, dryRun: boolean, onBadHash: 'refuse' | 'unusable'): string {
  const u = r.users
  const idLine = (what: 'users' | 'contents') => {
    const s = r.ids[what]
    return `${what} continue after id ${s.continuesAfter} ` +
      `(the old service's highest: ${s.oldMaxId} in rows, ${s.oldSequence ?? 'no'} in its sequence)`
  }
  return [
    `${dryRun ? 'dry run, nothing written: ' : ''}import of the Django service in ${r.seconds.toFixed(1)} s`,
    `cut-over: the old database as of ${r.sourceReadAt.toISOString()} (its clock); its tokens issued later are refused`,
    `ids: ${idLine('users')}; ${idLine('contents')}${dryRun ? ' (not set by a dry run)' : ''}`,
    `users: ${u.read} read, ${u.imported} imported (${u.inactive} inactive), ` +
      `${u.updated} updated (${u.passwords} passwords, ${u.deactivated} deactivated, ` +
      `${u.reactivated} reactivated, ${u.names} e-mail or names, ${u.wrapped} cheap hashes wrapped), ` +
      `${u.kept} kept because tally changed them, ` +
      `${u.unchanged} unchanged, ${u.skipped} skipped${u.adopted > 0 ? `; ${u.adopted} adopted from an import before migration 0010` : ''}`,
    ...listed(r.collisions, collisionLine),
    ...listed(r.userClashes, (c) => userClashLine(c, 'skipped')),
    ...listed(r.renames, (c) => `  username of id ${c.id} changed in Django from ${JSON.stringify(c.importedAs)} ` +
      `to ${JSON.stringify(c.djangoUsername)}: kept as ${JSON.stringify(c.tallyUsername)}`),
    ...listed(r.badHashes, (b) => badHashLine(b, onBadHash === 'unusable' ? 'imported with an unusable password' : 'refused')),
    `contents: ${r.contents.read} read, ${r.contents.imported} imported, ${r.contents.present} already present, ` +
      `${r.contents.skipped} skipped` +
      `${r.contents.adopted > 0 ? `; ${r.contents.adopted} adopted from an import before migration 0010` : ''}`,
    ...listed(r.contentClashes, (c) => contentClashLine(c, 'skipped')),
    `votes: ${r.votes.read} read, ${r.votes.imported} imported, ${r.votes.updated} updated, ${r.votes.present} already present, ` +
      `${r.votes.duplicates} older duplicates of a newer vote, ` +
      `skipped: ${r.votes.nullContent} without a content, ${r.votes.badScore} with a score outside 0..5, ` +
      `${r.votes.unknownUser} of an unknown or skipped user, ` +
      `${r.votes.unknownContent} of an unknown or skipped content`,
  ].join('\n')
}
