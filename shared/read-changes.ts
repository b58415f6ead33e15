import type { RedisClient } from './redis/client.js'

/*
 * Committed changes to what content reads return are announced on one Redis channel, so every API
 * process can serve list pages from memory until something on them changes, without asking Redis on
 * every read (the previous design read a "read generation" key per request). The writers (the API
 * creating contents, the consumer applying votes, the Django import) use what is here; the API's
 * reads listen (server/reads/change-listener.ts).
 *
 * Writers publish AFTER their commit: a reader that queried before the commit learns of it later, and
 * throws away the page it read. Pub/sub over a live connection loses nothing; a subscriber that lost
 * its connection may have missed messages, so on reconnecting it drops everything it cached
 * (server/reads/change-tracker.ts). A message is either "*" (anything may have changed: contents were
 * created) or the comma-separated ids of the contents whose votes changed (read by
 * server/reads/change-messages.ts).
 */

export const ALL_CHANGED = '*'
// Past this many ids a message says "*": a bigger message costs more to send and parse than the
// pages it would spare are worth.
const MAX_IDS_PER_MESSAGE = 10_000

/** After a commit that changed the votes (counts, averages, scores) of these contents. */
export async function announceVotesChanged(redis: RedisClient, channel: string, contentIds: readonly number[]): Promise<void> {
  if (contentIds.length === 0) return
  await redis.publish(channel, contentIds.length > MAX_IDS_PER_MESSAGE ? ALL_CHANGED : contentIds.join(','))
}

/** After a commit that may change any list: new contents (page numbers shift, counts grow). */
export async function announceAllChanged(redis: RedisClient, channel: string): Promise<void> {
  await redis.publish(channel, ALL_CHANGED)
}
