import type { Redis } from 'ioredis'
import type { Db } from '../shared/db/client.js'
import type { RedisKeys } from '../shared/redis/keys.js'
import { currentReadGeneration } from '../shared/read-generation.js'
import { countContents, listContents, userVotes, type ContentRow, type PageStart } from './queries/contents.js'
import { readPageState } from './queries/locks.js'
import { createPageCache } from './page-cache.js'

// Pages kept per process: page numbers and cursors people actually follow (the first pages) repeat.
const CACHED_PAGES = 500

type ListedPage = { rows: ContentRow[]; hasMore: boolean; count: number }
export type LoadedPage = ListedPage & { until: (Date | null)[] }

const pageKey = (start: PageStart, size: number) =>
  `${'beforeId' in start ? `b${start.beforeId}` : 'afterId' in start ? `a${start.afterId}` : `o${start.offset}`}:${size}`

/**
 * Content list pages with their locks, served from this process's memory while the read generation
 * they were read under is current (shared/read-generation.ts), else from PostgreSQL.
 */
export function createContentPages(deps: { db: Db; redis: Redis; keys: RedisKeys; readCacheMs: number }) {
  const { db, redis, keys } = deps
  const pages = createPageCache<ListedPage>({ maxEntries: CACHED_PAGES, maxAgeMs: deps.readCacheMs })

  /**
   * One page with its locks. A hit costs one MGET (the generation rides with the page's locks) and no
   * PostgreSQL; a miss reads the generation BEFORE the query and stores the page under it. Cached rows
   * carry no user_vote: a caller's own scores are looked up per request and never shared.
   */
  async function list(start: PageStart, size: number, userId: number | null): Promise<LoadedPage> {
    const key = pageKey(start, size)
    const cached = pages.get(key)
    let generation: string | null | undefined
    if (cached) {
      const ids = cached.value.rows.map((r) => r.id)
      const state = await readPageState(redis, keys, ids)
      if (state.generation !== null && state.generation === cached.generation) {
        const mine = userId === null ? undefined : await userVotes(db, userId, ids)
        const rows = mine ? cached.value.rows.map((r) => ({ ...r, user_vote: mine.get(r.id) ?? null })) : cached.value.rows
        return { ...cached.value, rows, until: state.until }
      }
      generation = state.generation
    }
    generation ??= await currentReadGeneration(redis, keys.readGeneration)
    // Two queries on two pooled connections at once: the page (with the caller's scores) and the exact count.
    const [{ rows, hasMore }, count] = await Promise.all([listContents(db, start, size, userId), countContents(db)])
    if (generation !== null) {
      pages.set(key, generation, { rows: userId === null ? rows : rows.map((r) => ({ ...r, user_vote: null })), hasMore, count })
    }
    const { until } = await readPageState(redis, keys, rows.map((r) => r.id))
    return { rows, hasMore, count, until }
  }

  return { list }
}
