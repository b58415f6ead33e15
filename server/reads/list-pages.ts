import type { RedisClient } from '../../shared/redis/client.js'
import type { Db } from '../../shared/db/client.js'
import type { RedisKeys } from '../../shared/redis/keys.js'
import { listContents, type ContentReads, type PageStart } from './content-queries.js'
import { lockEnds } from './lock-ends.js'
import { createPageCache } from './page-cache.js'
import type { ChangeTracker, Tracked } from './change-tracker.js'
import { callerJson, renderItemParts, renderPage, type CallerVote, type Envelope, type RenderedPage } from './content-json.js'
import type { CallerVotes } from './caller-votes.js'
import type { PriorWatch } from './ranking-prior.js'
import { listEnvelope, type ListRequest, type PageData } from './list-request.js'
import type { Ordering } from './orderings.js'

// Pages kept per process: the page numbers and cursors people follow (the first ones) repeat. The
// byte budget counts an estimate of the rendered JSON (UTF-16 parts and UTF-8 bodies) of every entry.
const CACHED_PAGES = 500
const CACHED_BYTES = 64 * 1024 * 1024
// (caller, page) pairs whose scores are remembered: a caller's scores on a page change only when one
// of its contents changes, which makes the page stale too, so they live as long as the page.
const REMEMBERED_CALLERS = 100_000
const NO_SCORES: ReadonlyMap<number, number> = new Map()
const MAX_BODIES = 2

interface Entry extends Tracked, PageData {
  serial: number
  /** Each item's JSON, in two parts around the value of user_vote. */
  parts: [string, string][]
  /** The earliest lock end on the page: past it the page shows a lock that is over. */
  validUntilMs: number
  /** Anonymous bodies, by the list's base URL (its links name the host the caller used). */
  bodies: Map<string, RenderedPage>
  bytes: number
}

const pageKey = (ordering: Ordering, start: PageStart, size: number) => {
  const place = 'offset' in start
    ? `o${start.offset}`
    : `${'beforeId' in start ? `b${start.beforeId}` : `a${start.afterId}`}~${start.key ?? ''}`
  return `${ordering}:${place}:${size}`
}

/**
 * Content list pages as JSON bytes. While this process's change tracker is live (subscribed to change
 * announcements) a page is served from memory until a content on it changes, a content is created,
 * a lock on it starts or ends, or READ_CACHE_MS passes: a hit costs no PostgreSQL and no Redis. An
 * anonymous hit sends bytes rendered once. A caller with a token gets their own scores, read once
 * per page by primary key and remembered while the page lasts; with no score on the page they get
 * the anonymous bytes. While not live, every read goes to PostgreSQL and reads the locks from Redis.
 */
export function createListPages(deps: {
  db: Db; queries: ContentReads; callers: CallerVotes; redis: RedisClient; keys: RedisKeys; tracker: ChangeTracker; prior: PriorWatch
  readCacheMs: number
}) {
  const { db, queries, redis, keys, tracker } = deps
  const pages = createPageCache<Entry>({
    maxEntries: CACHED_PAGES, maxBytes: CACHED_BYTES, maxAgeMs: deps.readCacheMs, sizeOf: (e) => e.bytes,
  })
  const callers = new Map<string, { serial: number; scores: ReadonlyMap<number, number> }>()
  let serials = 0

  function remember(userId: number, entry: Entry, key: string, scores: ReadonlyMap<number, number>) {
    const at = `${userId}:${key}`
    callers.delete(at)
    callers.set(at, { serial: entry.serial, scores })
    if (callers.size > REMEMBERED_CALLERS) callers.delete(callers.keys().next().value!)
  }

  async function callerScores(entry: Entry, key: string, userId: number): Promise<ReadonlyMap<number, number>> {
    const known = callers.get(`${userId}:${key}`)
    if (known?.serial === entry.serial) return known.scores
    const found = await queries.userVotes(userId, entry.contentIds)
    const scores = found.size === 0 ? NO_SCORES : found
    remember(userId, entry, key, scores)
    return scores
  }

  async function load(request: ListRequest, userId: number | null, since: number | null) {
    const { rows, hasMore, total: count } = await listContents(db, request.start, request.size, userId, request.ordering)
    const ids = rows.map((r) => r.id)
    const until = await lockEnds(tracker, redis, keys, ids)
    const parts = rows.map((row, i) => renderItemParts(row, until[i] ?? null, deps.prior.current))
    const entry: Entry = {
      serial: ++serials, since: since ?? -1, verifiedSeq: -1, contentIds: ids, rows, hasMore, count, parts,
      validUntilMs: Math.min(Infinity, ...until.filter((u): u is number => u !== null)),
      bodies: new Map(),
      // The parts as UTF-16, and the anonymous bodies as UTF-8 (at most MAX_BODIES, about the same size each).
      bytes: parts.reduce((n, [a, b]) => n + a.length + b.length, 0) * (2 + MAX_BODIES),
    }
    const scores = new Map(rows.flatMap((r) => (r.user_vote === null ? [] : [[r.id, r.user_vote] as [number, number]])))
    return { entry, scores: scores.size === 0 ? NO_SCORES : scores }
  }

  const NOT_PENDING = callerJson(null, false)
  const items = (entry: Entry, scores: ReadonlyMap<number, number>, pending?: ReadonlyMap<number, CallerVote>) =>
    entry.parts.map(([before, after], i) => {
      const id = entry.contentIds[i]!
      const mine = pending?.get(id)
      if (mine !== undefined) return `${before}${callerJson(mine.score, mine.pending)}${after}`
      const score = scores.get(id)
      return `${before}${score === undefined ? NOT_PENDING : callerJson(score, false)}${after}`
    }).join(',')

  function body(entry: Entry, scores: ReadonlyMap<number, number>, envelope: () => Envelope, base: string, cached: boolean,
    pending?: ReadonlyMap<number, CallerVote>): RenderedPage {
    if (scores.size > 0 || pending !== undefined) return renderPage(envelope(), items(entry, scores, pending), false)
    let bytes = entry.bodies.get(base)
    if (bytes === undefined) {
      bytes = renderPage(envelope(), items(entry, NO_SCORES), true)
      // A page reached through many host names keeps the first few bodies (the budget counts that many).
      if (cached && entry.bodies.size < MAX_BODIES) entry.bodies.set(base, bytes)
    }
    return bytes
  }

  /**
   * One list page's body. Its envelope (listEnvelope) depends on the page's data and, beyond the page's
   * key, only on the request's base URL; it may refuse the page (past the last) with page_not_found.
   */
  async function list(request: ListRequest, userId: number | null): Promise<RenderedPage> {
    const key = pageKey(request.ordering, request.start, request.size)
    const hit = pages.get(key)
    if (hit !== undefined && tracker.isCurrent(hit) && Date.now() < hit.validUntilMs) {
      const scores = userId === null ? NO_SCORES : await callerScores(hit, key, userId)
      const pending = userId === null ? undefined : await deps.callers.page(userId, hit.contentIds)
      return body(hit, scores, () => listEnvelope(request, hit), request.base, true, pending)
    }
    // Taken BEFORE the query: a change announced after it makes this page stale.
    const since = tracker.begin()
    const { entry, scores } = await load(request, userId, since)
    // Before caching: an envelope that refuses the page (past the last) leaves nothing behind.
    const around = listEnvelope(request, entry)
    const cacheable = since !== null && deps.readCacheMs > 0
    if (cacheable) {
      pages.set(key, entry)
      if (userId !== null) remember(userId, entry, key, scores)
    }
    const pending = userId === null ? undefined : await deps.callers.page(userId, entry.contentIds)
    return body(entry, scores, () => around, request.base, cacheable, pending)
  }

  return { list }
}
