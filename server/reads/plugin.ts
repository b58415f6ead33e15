import fp from 'fastify-plugin'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisTarget } from '../../shared/redis/target.js'
import type { ContentItem } from '../schemas.js'
import { createChangeTracker, type ChangeTracker } from './change-tracker.js'
import { listenForChanges } from './change-listener.js'
import { createContentReads } from './content-queries.js'
import { contentItem, type RenderedPage } from './content-json.js'
import { lockEnds } from './lock-ends.js'
import { createListPages } from './list-pages.js'
import { listRequest, type ListQuery } from './list-request.js'
import { createContent, type NewContent } from './content-writes.js'
import { watchPrior } from './ranking-prior.js'
import { createCallerVotes } from './caller-votes.js'

/** The read path of contents, as the routes see it: reply bodies, and the one write that changes every list. */
export interface Reads {
  /** One content as this caller sees it (their own score, its lock), or undefined when there is none. */
  content(id: number, userId: number | null): Promise<ContentItem | undefined>
  /**
   * One list page as JSON, from memory while nothing on it changed. `base` is the list's absolute URL
   * without its query, for the links. Throws invalid_cursor, page_too_deep, page_not_found.
   */
  listPage(query: ListQuery, base: string, userId: number | null): Promise<RenderedPage>
  /** Create a content and make every list show it (content-writes.ts); 503 service_unavailable when Redis is away. */
  createContent(input: NewContent, log: FastifyBaseLogger): Promise<ContentItem>
  /** What this process has heard of changes, read-only: whether it is live, locks seen (metrics; tests). */
  readonly changes: Pick<ChangeTracker, 'live' | 'locksSeen' | 'begin' | 'isCurrent'>
}

declare module 'fastify' {
  interface FastifyInstance {
    reads: Reads
  }
}

/**
 * Content reads for this API process: the SQL (content-queries.ts), the live locks from Redis or from
 * announcements (lock-ends.ts), the cached list pages (list-pages.ts), and the one subscriber that
 * hears what changed (change-listener.ts). Closing the app stops listening.
 */
export default fp<{ target: RedisTarget; connectionName: string; readCacheMs: number; rankingRefreshMs: number }>(async (app, opts) => {
  const { db, redis, keys, pendingVotes } = app
  const tracker = createChangeTracker()
  const listener = listenForChanges(tracker, { target: opts.target, connectionName: opts.connectionName, redis, keys, log: app.log })
  // Pages were rendered with the old prior: a new one changes every item's scores.
  const prior = await watchPrior(db, opts.rankingRefreshMs, app.log, () => tracker.allChanged())
  app.addHook('onClose', async () => {
    prior.close()
    await listener.close()
  })
  const queries = createContentReads(db)
  const callers = createCallerVotes(queries, pendingVotes)
  const pages = createListPages({ db, queries, callers, redis, keys, tracker, prior, readCacheMs: opts.readCacheMs })

  const reads: Reads = {
    async content(id, userId) {
      const row = await queries.findContent(id, userId)
      if (!row) return undefined
      const [until = null] = await lockEnds(tracker, redis, keys, [row.id])
      const caller = userId === null ? undefined : await callers.one(userId, row.id, row.user_vote)
      return contentItem(row, until, prior.current, caller)
    },
    listPage: (query, base, userId) => pages.list(listRequest(query, base), userId),
    createContent: (input, log) => createContent({ db, redis, keys, tracker, prior }, input, log),
    changes: tracker,
  }
  app.decorate('reads', reads)
}, { name: 'reads', dependencies: ['db', 'redis', 'pendingVotes'] })
