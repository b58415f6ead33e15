import { MAX_ID } from '../../shared/ids.js'

/**
 * Keyset cursors: opaque to clients, but only an id and a direction inside. "b123" = strictly
 * older than content 123 (next page), "a123" = strictly newer (previous page). Base64url keeps
 * them URL-safe and discourages clients from building them by hand.
 */
export type Cursor = { beforeId: number } | { afterId: number }

export function encodeCursor(cursor: Cursor): string {
  const raw = 'beforeId' in cursor ? `b${cursor.beforeId}` : `a${cursor.afterId}`
  return Buffer.from(raw, 'utf8').toString('base64url')
}

/** The cursor, or null when the text is not one this API made. */
export function decodeCursor(text: string): Cursor | null {
  const raw = Buffer.from(text, 'base64url').toString('utf8')
  const match = /^([ab])([1-9][0-9]{0,9})$/.exec(raw)
  if (!match || Buffer.from(raw, 'utf8').toString('base64url') !== text) return null
  const id = Number(match[2])
  if (id > MAX_ID) return null
  return match[1] === 'b' ? { beforeId: id } : { afterId: id }
}
