/** A stream entry as ioredis returns it: [id, [field, value, field, value, …]]. */
export type StreamEntry = [id: string, fields: string[]]

export interface Vote {
  stream: string
  entryId: string
  /** The entry id as one number that orders like the ids: ms * 2^64 + seq (fits numeric(40,0)). */
  version: bigint
  userId: number
  contentId: number
  score: number
}

export interface Rejected {
  stream: string
  entryId: string
  reason: string
  fields: string[]
}

const MAX_ID = 2_147_483_647
const ENTRY_ID = /^(\d{1,15})-(\d{1,20})$/
const POSITIVE_INT = /^[1-9]\d{0,9}$/
const SCORE = /^[0-5]$/

/** Stream ids compare as numbers (ms, then seq), never as strings: "9-0" < "10-0". */
export function entryVersion(entryId: string): bigint | null {
  const m = ENTRY_ID.exec(entryId)
  if (!m) return null
  const seq = BigInt(m[2]!)
  if (seq >= 1n << 64n) return null
  return (BigInt(m[1]!) << 64n) + seq
}

function fieldMap(fields: string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!)
  return map
}

/** One entry → a Vote, or a Rejected with the reason (never throws: a bad entry must not stop its batch). */
export function decodeEntry(stream: string, [entryId, fields]: StreamEntry): Vote | Rejected {
  const reject = (reason: string): Rejected => ({ stream, entryId, reason, fields })
  const version = entryVersion(entryId)
  if (version === null) return reject('bad_entry_id')
  const f = fieldMap(fields)
  const user = f.get('user')
  const content = f.get('content')
  const score = f.get('score')
  if (user === undefined || content === undefined || score === undefined) return reject('missing_field')
  if (!POSITIVE_INT.test(user) || Number(user) > MAX_ID) return reject('bad_user')
  if (!POSITIVE_INT.test(content) || Number(content) > MAX_ID) return reject('bad_content')
  if (!SCORE.test(score)) return reject('bad_score')
  return { stream, entryId, version, userId: Number(user), contentId: Number(content), score: Number(score) }
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
