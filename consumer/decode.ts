import { MAX_ID } from '../shared/ids.js'
import { decimal, readEntryId, type EntryIdParts } from '../shared/entry-version.js'
import type { DeadLetterReason, Rejected } from './dead-letters.js'

/**
 * A field name or value as read from the stream: a Buffer on the hot path (consumer/stream.ts reads new
 * entries with XREADGROUP's Buffer reply: ioredis would otherwise turn every name and value into a string,
 * which cost more than all of decoding), a string where entries are read as strings (XAUTOCLAIM, tests).
 */
export type Field = string | Buffer

/** A stream entry: [id, [field, value, field, value, …]]. */
export type StreamEntry = [id: string, fields: Field[]]

export interface Vote {
  stream: string
  entryId: string
  /** The entry id "<ms>-<seq>" as two numbers: ids order by ms, then seq (see isNewer). */
  ms: number
  seq: number
  userId: number
  contentId: number
  /** 0..5, or null: the voter took their vote back (DELETE /api/vote/{id}/; on the stream as score "-"). */
  score: number | null
}

/** Where decodeEntry reads each entry's id: one object for every entry, since it runs for every vote. */
const id: EntryIdParts = { ms: 0, seq: 0 }

/** Stream ids compare as numbers (ms, then seq), never as strings: "9-0" < "10-0", "5-9" < "5-10". */
export const isNewer = (a: Vote, b: Vote): boolean => a.ms > b.ms || (a.ms === b.ms && a.seq > b.seq)

/** Whether a field is `name` (ASCII), without turning a Buffer into a string. */
function isName(f: Field, name: string): boolean {
  if (typeof f === 'string') return f === name
  if (f.length !== name.length) return false
  for (let i = 0; i < name.length; i++) if (f[i] !== name.charCodeAt(i)) return false
  return true
}

/** A retraction's score on the stream: "-" (vote.lua writes what the API sends). */
export const RETRACTION = '-'
const RETRACTION_CODE = RETRACTION.charCodeAt(0)

const firstCode = (f: Field): number => (typeof f === 'string' ? f.charCodeAt(0) : f[0] ?? NaN)

/** A user or content id: 1 ..= 2^31 - 1, decimal, no sign, no leading zero; else -1. */
function positiveId(f: Field): number {
  if (firstCode(f) === 48) return -1
  const n = decimal(f, 0, f.length, 10)
  return n > MAX_ID ? -1 : n
}

const rejected = (stream: string, entryId: string, fields: Field[], reason: DeadLetterReason): Rejected =>
  ({ stream, entryId, reason, fields })

/**
 * One entry → a Vote, or a Rejected with the reason (never throws: a bad entry must not stop its batch).
 * Fields other than user, content and score (ts, or any a later API adds) are ignored; a repeated field
 * counts by its last value.
 */
export function decodeEntry(stream: string, entry: StreamEntry): Vote | Rejected {
  const [entryId, fields] = entry
  if (!readEntryId(entryId, id)) return rejected(stream, entryId, fields, 'bad_entry_id')
  const ms = id.ms
  const seq = id.seq
  let user: Field | undefined
  let content: Field | undefined
  let score: Field | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!
    if (isName(name, 'user')) user = fields[i + 1]
    else if (isName(name, 'content')) content = fields[i + 1]
    else if (isName(name, 'score')) score = fields[i + 1]
  }
  if (user === undefined || content === undefined || score === undefined) return rejected(stream, entryId, fields, 'missing_field')
  const userId = positiveId(user)
  if (userId < 0) return rejected(stream, entryId, fields, 'bad_user')
  const contentId = positiveId(content)
  if (contentId < 0) return rejected(stream, entryId, fields, 'bad_content')
  const code = score.length === 1 ? firstCode(score) : -1
  if (code === RETRACTION_CODE) return { stream, entryId, ms, seq, userId, contentId, score: null }
  const s = code - 48
  if (s < 0 || s > 5) return rejected(stream, entryId, fields, 'bad_score')
  return { stream, entryId, ms, seq, userId, contentId, score: s }
}

export function decodeAll(stream: string, entries: readonly StreamEntry[]): { votes: Vote[]; rejected: Rejected[] } {
  const votes: Vote[] = []
  const rejected: Rejected[] = []
  for (const entry of entries) {
    const result = decodeEntry(stream, entry)
    if ('reason' in result) rejected.push(result)
    else votes.push(result)
  }
  return { votes, rejected }
}

/** A decoded vote turned back into a dead letter, with its fields as they were on the stream. */
export const rejectVote = (vote: Vote, reason: DeadLetterReason): Rejected => ({
  stream: vote.stream, entryId: vote.entryId, reason,
  fields: ['user', String(vote.userId), 'content', String(vote.contentId), 'score', vote.score === null ? RETRACTION : String(vote.score)],
})
