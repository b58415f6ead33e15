import { MAX_ID } from '../shared/ids.js'

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
  score: number
}

export interface Rejected {
  stream: string
  entryId: string
  reason: string
  /** As they were on the stream; XADD takes Buffers and strings alike. */
  fields: Field[]
}

/**
 * Bounds of an entry id, so that votes.version = ms * 2^21 + seq fits int8: ms < 2^42 (until the year 2109),
 * seq < 2^21 (two million entries in one millisecond; Redis' own ids never come close). Beyond them the entry
 * is refused as bad_entry_id rather than stored with a version that would not order like its id.
 */
export const MAX_MS = 2 ** 42 - 1
export const MAX_SEQ = 2 ** 21 - 1
export const SEQ_FACTOR = 2 ** 21

/**
 * The decimal number in s[from, to) of at most maxDigits digits, or -1 (not a plain decimal integer). By
 * hand, not with a regex and Number(): this runs several times per vote, and "1e3", " 1", "0x1", "1.0" must
 * all be refused. Reads a Buffer's bytes or a string's char codes alike (the digits are ASCII).
 */
function decimal(s: Field, from: number, to: number, maxDigits: number): number {
  if (to <= from || to - from > maxDigits) return -1
  const isText = typeof s === 'string'
  let n = 0
  for (let i = from; i < to; i++) {
    const d = (isText ? s.charCodeAt(i) : s[i]!) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/** Whether a field is `name` (ASCII), without turning a Buffer into a string. */
function isName(f: Field, name: string): boolean {
  if (typeof f === 'string') return f === name
  if (f.length !== name.length) return false
  for (let i = 0; i < name.length; i++) if (f[i] !== name.charCodeAt(i)) return false
  return true
}

const firstCode = (f: Field): number => (typeof f === 'string' ? f.charCodeAt(0) : f[0] ?? NaN)

/**
 * The ms and seq of the last entryIdParts call: returned through these two rather than as a new array
 * per entry, since decodeEntry runs for every vote.
 */
let parsedMs = 0
let parsedSeq = 0

/** Whether entryId is "<ms>-<seq>" within MAX_MS / MAX_SEQ; sets parsedMs and parsedSeq when it is. */
function entryIdParts(entryId: string): boolean {
  const dash = entryId.indexOf('-')
  if (dash < 0) return false
  // 13 and 7 digits bound the values below 2^53 before the range check, so the arithmetic is exact.
  const ms = decimal(entryId, 0, dash, 13)
  const seq = decimal(entryId, dash + 1, entryId.length, 7)
  if (ms < 0 || seq < 0 || ms > MAX_MS || seq > MAX_SEQ) return false
  parsedMs = ms
  parsedSeq = seq
  return true
}

/** "<ms>-<seq>" → [ms, seq], or null when it is not an id or lies beyond MAX_MS / MAX_SEQ. */
export function parseEntryId(entryId: string): [ms: number, seq: number] | null {
  return entryIdParts(entryId) ? [parsedMs, parsedSeq] : null
}

/** Stream ids compare as numbers (ms, then seq), never as strings: "9-0" < "10-0", "5-9" < "5-10". */
export const isNewer = (a: Vote, b: Vote): boolean => a.ms > b.ms || (a.ms === b.ms && a.seq > b.seq)

/** The version PostgreSQL stores for an entry id (ms * 2^21 + seq), for tests and tools; not on the hot path. */
export function entryVersion(entryId: string): bigint | null {
  const id = parseEntryId(entryId)
  return id === null ? null : BigInt(id[0]) * BigInt(SEQ_FACTOR) + BigInt(id[1])
}

/** A user or content id: 1 ..= 2^31 - 1, decimal, no sign, no leading zero; else -1. */
function positiveId(f: Field): number {
  if (firstCode(f) === 48) return -1
  const n = decimal(f, 0, f.length, 10)
  return n > MAX_ID ? -1 : n
}

const rejected = (stream: string, entryId: string, fields: Field[], reason: string): Rejected => ({ stream, entryId, reason, fields })

/**
 * One entry → a Vote, or a Rejected with the reason (never throws: a bad entry must not stop its batch).
 * Fields other than user, content and score (ts, or any a later API adds) are ignored; a repeated field
 * counts by its last value.
 */
export function decodeEntry(stream: string, entry: StreamEntry): Vote | Rejected {
  const [entryId, fields] = entry
  if (!entryIdParts(entryId)) return rejected(stream, entryId, fields, 'bad_entry_id')
  const ms = parsedMs
  const seq = parsedSeq
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
  const s = score.length === 1 ? firstCode(score) - 48 : -1
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
export const rejectVote = (vote: Vote, reason: string): Rejected => ({
  stream: vote.stream, entryId: vote.entryId, reason,
  fields: ['user', String(vote.userId), 'content', String(vote.contentId), 'score', String(vote.score)],
})
