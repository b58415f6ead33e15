import { ALL_CHANGED } from '../../shared/read-changes.js'

/*
 * The messages this API process hears on Redis pub/sub, as their writers publish them: change
 * announcements (shared/read-changes.ts) and vote.lua's lock announcements. Parsing errs on the
 * safe side: a change message it cannot read means "everything changed".
 */

export type ReadChange = { all: true } | { all: false; contentIds: number[] }

/** A message as shared/read-changes.ts publishes it; anything else is read as "*", the safe side. */
export function parseReadChange(message: string): ReadChange {
  if (message === ALL_CHANGED || message === '') return { all: true }
  const contentIds = message.split(',').map(Number)
  return contentIds.every((id) => Number.isSafeInteger(id) && id > 0) ? { all: false, contentIds } : { all: true }
}

/** A lock announcement of vote.lua: "<content id> <lock end, epoch ms>"; null when malformed. */
export function parseLockMessage(message: string): { contentId: number; untilMs: number } | null {
  const [id, until] = message.split(' ').map(Number)
  return id !== undefined && until !== undefined && Number.isSafeInteger(id) && id > 0 && Number.isSafeInteger(until)
    ? { contentId: id, untilMs: until }
    : null
}
