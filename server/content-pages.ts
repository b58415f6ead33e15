import type { Redis } from 'ioredis'
import type { Db } from '../shared/db/client.js'
import type { RedisKeys } from '../shared/redis/keys.js'
import { currentReadGeneration } from '../shared/read-generation.js'
import { listContents, userVotes, type ContentRow, type PageStart } from './queries/contents.js'
import { readPageState } from './queries/locks.js'
import { createPageCache } from './page-cache.js'

// Pages kept per process: the page numbers and cursors people follow (the first ones) repeat. The byte
// budget is an estimate of the rows' strings (UTF-16) plus a fixed cost per row.
const CACHED_PAGES = 500
const CACHED_BYTES = 32 * 1024 * 1024
const BYTES_PER_ROW = 200
// Callers whose own scores one entry remembers; past it the entry forgets them all and starts again.
const CALLERS_PER_ENTRY = 256

type ListedPage = { rows: ContentRow[]; hasMore: boolean; count: number }
export type LoadedPage = ListedPage & { until: (Date | null)[] }
/**
 * What the cache holds: rows without user_vote (shared by every caller), and the scores of callers who
 * read the page under the same generation (user → content id → score): votes change only with a bump.
 */
type CachedPage = ListedPage & { scores: Map<number, Map<number, number>> }

const pageBytes = (page: CachedPage) =>
  page.rows.reduce((n, r) => n + BYTES_PER_ROW + 2 * (r.title.length + r.description.length), 0)

const pageKey = (start: PageStart, size: number) =>
  `${'beforeId' in start ? `b${start.beforeId}` : 'afterId' in start ? `a${start.afterId}` : `o${start.offset}`}:${size}`

const shared = (rows: ContentRow[]) => rows.map((r) => (r.user_vote === null ? r : { ...r, user_vote: null }))
const scoresOf = (rows: ContentRow[]) => new Map(rows.flatMap((r) => (r.user_vote === null ? [] : [[r.id, r.user_vote] as [number, number]])))
const withScores = (rows: ContentRow[], scores: Map<number, number>) => rows.map((r) => ({ ...r, user_vote: scores.get(r.id) ?? null }))

function remember(scores: Map<number, Map<number, number>>, userId: number, mine: Map<number, number>) {
  if (scores.size >= CALLERS_PER_ENTRY) scores.clear()
  scores.set(userId, mine)
}

/**
 * Content list pages with their locks, served from this process's memory while the read generation
 * they were read under is current (shared/read-generation.ts), else from PostgreSQL. A hit costs one
 * MGET (the generation rides with the locks) and no PostgreSQL, apart from a caller's own scores the
 * first time that caller reads the page under its generation.
 *
 * Items (GET /api/contents/:id/) are not cached: measured, caching them cost random-id reads about 10%
 * (bench read-detail) for what one primary-key query would have cost.
 */
export function createContentPages(deps: { db: Db; redis: Redis; keys: RedisKeys; readCacheMs: number }) {
  const { db, redis, keys } = deps
  const pages = createPageCache<CachedPage>({ maxEntries: CACHED_PAGES, maxBytes: CACHED_BYTES, maxAgeMs: deps.readCacheMs, sizeOf: pageBytes })

  /** The caller's scores on an entry's contents: remembered, or one query by primary key. */
  async function callerScores(entry: CachedPage, userId: number, ids: readonly number[]) {
    let mine = entry.scores.get(userId)
    if (mine === undefined) {
      mine = await userVotes(db, userId, ids)
      remember(entry.scores, userId, mine)
    }
    return mine
  }

  /** One page with its locks. A miss reads the generation BEFORE the query and stores the page under it. */
  async function list(start: PageStart, size: number, userId: number | null): Promise<LoadedPage> {
    const key = pageKey(start, size)
    const cached = pages.get(key)
    let generation: string | null | undefined
    if (cached) {
      const ids = cached.value.rows.map((r) => r.id)
      const state = await readPageState(redis, keys, ids)
      if (state.generation !== null && state.generation === cached.generation) {
        const entry = cached.value
        const rows = userId === null ? entry.rows : withScores(entry.rows, await callerScores(entry, userId, ids))
        return { rows, hasMore: entry.hasMore, count: entry.count, until: state.until }
      }
      generation = state.generation
    }
    generation ??= await currentReadGeneration(redis, keys.readGeneration)
    // The page (with the caller's scores) and the count in one statement: one snapshot, so they agree.
    const { rows, hasMore, total: count } = await listContents(db, start, size, userId)
    if (generation !== null) {
      const scores = new Map<number, Map<number, number>>()
      if (userId !== null) scores.set(userId, scoresOf(rows))
      pages.set(key, generation, { rows: shared(rows), hasMore, count, scores })
    }
    const { until } = await readPageState(redis, keys, rows.map((r) => r.id))
    return { rows, hasMore, count, until }
  }

  return { list }
}
