import type { FastifyBaseLogger } from 'fastify'
import type { Db } from '../../shared/db/client.js'
import type { RedisClient } from '../../shared/redis/client.js'
import type { RedisKeys } from '../../shared/redis/keys.js'
import { markContentExists, unmarkContent } from '../../shared/content-index.js'
import { announceAllChanged } from '../../shared/read-changes.js'
import { serviceUnavailable } from '../errors.js'
import type { ContentItem } from '../schemas.js'
import { insertContent, type ContentRow } from './content-queries.js'
import type { ChangeTracker } from './change-tracker.js'
import { contentItem } from './content-json.js'
import type { PriorWatch } from './ranking-prior.js'

export interface NewContent { title: string; description: string; authorId: number | null }

/**
 * Create a content: insert it with its bit in Redis' content index set inside the transaction (no
 * committed content is one votes would refuse), then make every list show it. Throws 503
 * service_unavailable, with nothing committed, when Redis does not take the bit.
 */
export async function createContent(deps: { db: Db; redis: RedisClient; keys: RedisKeys; tracker: ChangeTracker; prior: PriorWatch },
  input: NewContent, log: FastifyBaseLogger): Promise<ContentItem> {
  const { db, redis, keys, tracker } = deps
  let marked: number | undefined
  let row: ContentRow
  try {
    row = await insertContent(db, input, async (id) => {
      marked = id
      try {
        await markContentExists(redis, keys, id)
      } catch {
        throw serviceUnavailable('redis')
      }
    })
  } catch (err) {
    // Rolled back, but its bit may be set: a SETBIT that timed out against a hung Redis still runs when
    // Redis wakes, and a failed COMMIT follows a SETBIT that worked. Clearing it queues behind the SETBIT
    // on the same connection; ids are never handed out twice, so no other content loses its bit.
    if (marked !== undefined) void unmarkContent(redis, keys, marked).catch(() => {})
    throw err
  }
  // After COMMIT. This process forgets its pages at once, so the creator's next list shows the item;
  // the others forget theirs when the announcement reaches them (well under a millisecond on a LAN).
  // Should Redis fail just now, their cached pages miss the item for at most READ_CACHE_MS.
  tracker.allChanged()
  await announceAllChanged(redis, keys.readChanges).catch((err: Error) => log.warn({ err: err.message }, 'new content not announced'))
  return contentItem(row, null, deps.prior.current)
}
