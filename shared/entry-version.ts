/*
 * A stream entry id "<ms>-<seq>" and the version PostgreSQL keeps for it (votes.version, recorded_entries.version,
 * stream_horizons.recorded_below): ms * 2^21 + seq, one int8 that orders like the ids. Written here once, in
 * TypeScript and as the SQL fragment apply's statement computes it with: decode, apply, the ledger and the audit
 * all read and write versions through this module.
 */

/**
 * Bounds of an entry id, so that its version fits int8: ms < 2^42 (until the year 2109), seq < 2^21 (two million
 * entries in one millisecond; Redis' own ids never come close). Beyond them the entry is refused as bad_entry_id
 * rather than stored with a version that would not order like its id.
 */
export const MAX_MS = 2 ** 42 - 1
export const MAX_SEQ = 2 ** 21 - 1
export const SEQ_FACTOR = 2 ** 21

/**
 * The version of int8 columns (or expressions) `ms` and `seq`, as SQL text: `versionSql('i.ms', 'i.seq')` is
 * `i.ms * 2097152 + i.seq`. Raw text with the factor written out, not a parameter, so a prepared statement
 * using it has the text (and the plan) it always had.
 */
export const versionSql = (ms: string, seq: string): string => `${ms} * ${SEQ_FACTOR} + ${seq}`

/**
 * The decimal number in s[from, to) of at most maxDigits digits, or -1 (not a plain decimal integer). By
 * hand, not with a regex and Number(): this runs several times per vote (the entry id here, the user and
 * content ids in consumer/decode.ts), and "1e3", " 1", "0x1", "1.0" must all be refused. Reads a Buffer's
 * bytes or a string's char codes alike (the digits are ASCII).
 */
export function decimal(s: string | Uint8Array, from: number, to: number, maxDigits: number): number {
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

/** An entry id as its two numbers: ids order by ms, then seq. */
export interface EntryIdParts { ms: number; seq: number }

/**
 * Whether entryId is "<ms>-<seq>" within MAX_MS / MAX_SEQ; when it is, its parts are written into `into`.
 * Into an object the caller keeps, rather than a new array returned per entry: decodeEntry reads one per vote.
 */
export function readEntryId(entryId: string, into: EntryIdParts): boolean {
  const dash = entryId.indexOf('-')
  if (dash < 0) return false
  // 13 and 7 digits bound the values below 2^53 before the range check, so the arithmetic is exact.
  const ms = decimal(entryId, 0, dash, 13)
  const seq = decimal(entryId, dash + 1, entryId.length, 7)
  if (ms < 0 || seq < 0 || ms > MAX_MS || seq > MAX_SEQ) return false
  into.ms = ms
  into.seq = seq
  return true
}

// What parseEntryId and entryVersion read an id into (both return before anything else can use it).
const parsed: EntryIdParts = { ms: 0, seq: 0 }

/** "<ms>-<seq>" → [ms, seq], or null when it is not an id or lies beyond MAX_MS / MAX_SEQ. */
export function parseEntryId(entryId: string): [ms: number, seq: number] | null {
  return readEntryId(entryId, parsed) ? [parsed.ms, parsed.seq] : null
}

/**
 * The version PostgreSQL stores for an entry id (ms * 2^21 + seq), or null for an id beyond the bounds. Runs
 * once per entry of every batch (its ledger entry, consumer/ledger.ts), and in the audit and the tests.
 */
export function entryVersion(entryId: string): bigint | null {
  return readEntryId(entryId, parsed) ? BigInt(parsed.ms) * BigInt(SEQ_FACTOR) + BigInt(parsed.seq) : null
}

/**
 * The version every entry below trim.lua's threshold "<ms>-<seq>" is below (the threshold may be one past
 * the last delivered id, seq up to 2^21), or null for "0-0" (nothing acknowledged) or an id without one.
 */
export function thresholdVersion(threshold: string): bigint | null {
  const [ms, seq] = threshold.split('-')
  if (threshold === '0-0' || seq === undefined) return null
  if (seq === '0') return entryVersion(threshold)
  const last = entryVersion(`${ms}-${BigInt(seq) - 1n}`)
  return last === null ? null : last + 1n
}
