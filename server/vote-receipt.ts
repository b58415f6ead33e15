import { shardTags } from '../shared/redis/keys.js'

/*
 * A 202's `id`: `<shard tag>:<stream entry id>`, e.g. `0:1795582396825-0`, or `1.3:1795582396825-0` with several
 * shards. Each shard's stream numbers its entries by itself, so two shards hand out the same entry id
 * whenever their scripts run in the same millisecond (every turn that carries votes for both); the tag
 * names the stream (`<REDIS_PREFIX>votes:{<tag>}`), and a stream never repeats an id, so the pair names
 * one vote across the service, and an operator finds it with `XRANGE <stream> <entry id> <entry id>`.
 */

/** The receipt's text before the entry id, per shard: made once, so a vote's receipt is one concatenation. */
export const receiptPrefixes = (shards: number): readonly string[] => shardTags(shards).map((tag) => `${tag}:`)

/** The stream tag and entry id a receipt names, or null when the text is not a receipt. */
export function parseReceipt(receipt: string): { tag: string; entryId: string } | null {
  const match = /^([0-9]+(?:\.[0-9]+)?):([0-9]+-[0-9]+)$/.exec(receipt)
  return match ? { tag: match[1]!, entryId: match[2]! } : null
}
