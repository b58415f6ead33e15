import { MAX_ID } from '../../shared/ids.js'
import { ORDERINGS, orderingOfLetter, type Ordering } from './orderings.js'

/**
 * Keyset cursors: opaque to clients, but only a direction, a place and its ordering inside. Newest first:
 * "b123" = strictly older than content 123 (next page), "a123" = strictly newer (previous page). A ranking adds
 * its letter and the rank key of the place: "by3.25~123" = after (3.25, 123) in -bayesian_average's order. The
 * key is written as JavaScript writes the double PostgreSQL sent (the shortest text that reads back the same),
 * so the next page starts exactly after that row. Base64url keeps them URL-safe and discourages hand-made ones.
 */
export type Cursor = ({ beforeId: number } | { afterId: number }) & { key?: number }

export function encodeCursor(cursor: Cursor, ordering: Ordering = '-created_at'): string {
  const place = `${ORDERINGS[ordering].letter}${cursor.key === undefined ? '' : `${cursor.key}~`}`
  const raw = 'beforeId' in cursor ? `b${place}${cursor.beforeId}` : `a${place}${cursor.afterId}`
  return Buffer.from(raw, 'utf8').toString('base64url')
}

const CURSOR = /^([ab])(?:([a-z])(-?\d+(?:\.\d+)?(?:e[+-]\d+)?)~)?([1-9][0-9]{0,9})$/

/** The cursor and the ordering it was made for, or null when the text is not one this API made. */
export function decodeCursor(text: string): { cursor: Cursor; ordering: Ordering } | null {
  const raw = Buffer.from(text, 'base64url').toString('utf8')
  const match = CURSOR.exec(raw)
  if (!match || Buffer.from(raw, 'utf8').toString('base64url') !== text) return null
  const id = Number(match[4])
  if (id > MAX_ID) return null
  const ordering = orderingOfLetter(match[2] ?? '')
  if (ordering === undefined) return null
  const place = match[1] === 'b' ? { beforeId: id } : { afterId: id }
  if (match[3] === undefined) return { cursor: place, ordering }
  const key = Number(match[3])
  // Only the text encodeCursor writes for that number: one place, one cursor.
  if (!Number.isFinite(key) || String(key) !== match[3]) return null
  // An integer key (vote counts) is compared as int4: nothing else can name a place in that ordering.
  if (ORDERINGS[ordering].type === 'int' && !(Number.isInteger(key) && Math.abs(key) <= MAX_ID)) return null
  return { cursor: { ...place, key }, ordering }
}
