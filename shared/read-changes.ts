import type { RedisClient } from './redis/client.js'

/*
 * Committed changes to what content reads return are announced on one Redis channel, so every API
 * process can serve list pages from memory until something on them changes, without asking Redis on
 * every read (the previous design read a "read generation" key per request).
 *
 * Writers publish AFTER their commit: a reader that queried before the commit learns of it later, and
 * throws away the page it read. Pub/sub over a live connection loses nothing; a subscriber that lost
 * its connection may have missed messages, so on reconnecting it drops everything it cached
 * (server/read-state.ts). A message is either "*" (anything may have changed: contents were created)
 * or the comma-separated ids of the contents whose votes changed.
 */

export const ALL_CHANGED = '*'
// Past this many ids a message says "*": a bigger message costs more to send and parse than the
// pages it would spare are worth.
const MAX_IDS_PER_MESSAGE = 10_000

export type ReadChange = { all: true } | { all: false; contentIds: number[] }

/** After a commit that changed the votes (counts, averages, scores) of these contents. */
export async function announceVotesChanged(redis: RedisClient, channel: string, contentIds: readonly number[]): Promise<void> {
  if (contentIds.length === 0) return
  await redis.publish(channel, contentIds.length > MAX_IDS_PER_MESSAGE ? ALL_CHANGED : contentIds.join(','))
}

/** After a commit that may change any list: new contents (page numbers shift, counts grow). */
export async function announceAllChanged(redis: RedisClient, channel: string): Promise<void> {
  await redis.publish(channel, ALL_CHANGED)
}

/** A message as published above; anything else is read as "*", the safe side. */
export function parseReadChange(message: string): ReadChange {
  if (message === ALL_CHANGED || message === '') return { all: true }
  const contentIds = message.split(',').map(Number)
  return contentIds.every((id) => Number.isSafeInteger(id) && id > 0) ? { all: false, contentIds } : { all: true }
}

/** A lock announcement of vote.lua: "<content id> <lock end, epoch ms>"; null when malformed. */
export function parseLockMessage(message: string): { contentId: number; untilMs: number } | null {
  const [id, until] = message.split(' ').map(Number)
  return id !== undefined && until !== undefined && Number.isSafeInteger(id) && id > 0 && Number.isSafeInteger(until) ? { contentId: id, untilMs: until } : null
}
