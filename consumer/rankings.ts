import { sql, type SQL } from 'drizzle-orm'
import { RERANK_HEAD, rerankTail } from '../shared/db/rank-keys.js'
import type { Logger } from 'pino'
import type { Db } from '../shared/db/client.js'
import { PRIOR_WITHOUT_VOTES } from '../shared/ranking.js'

/*
 * The re-ranker: keeps the orderings' sort keys (contents.rank_*) and the prior they are computed with
 * (ranking_prior) up to date, off the votes' path. The apply statement changes only unindexed columns, so its
 * update stays a heap-only tuple; an indexed key moved by every vote cost 2.5× the statement (schema.ts). Here a
 * content changed by any number of votes is re-ranked once per RANKING_REFRESH_MS, in id-ordered chunks.
 *
 * Every tick: read the global histogram (score_totals summed) for C. If C moved past the tolerance, or m or z are
 * not this process's settings, one consumer (a transaction-level advisory lock) writes the new prior and sweeps
 * every content; otherwise the contents this process's commits changed are re-ranked. At start, one sweep catches
 * what a consumer that died before its tick left behind. A sweep updates only the rows whose keys differ.
 */

export interface RankingSettings {
  weight: number
  z: number
  tolerance: number
  refreshMs: number
  /** Contents re-ranked at most per tick (RANKING_MAX_PER_TICK): what is left waits for the next ticks. */
  maxPerTick: number
}

// Contents re-ranked per statement: each holds its rows' locks until it commits, and votes for them wait that long.
const CHUNK = 2000
// Contents per statement a sweep walks by id range (most need no change and are only read).
const SWEEP_RANGE = 20_000
// A full sweep every this many ticks (10 minutes at the default RANKING_REFRESH_MS) catches what no tick was told
// of: a commit whose consumer died before its tick, rows skipped while locked, totals changed by a user's deletion.
const SWEEP_EVERY_TICKS = 60
// pg_try_advisory_xact_lock key of the prior's replacement: 'tally' as bytes, then 1.
const PRIOR_LOCK = 0x74616c6c79_01

/** The re-rank statement (shared/db/rank-keys.ts) over the contents `where` selects, writing at most `limit`. */
const rerank = (where: SQL, limit?: number) => sql.join([sql.raw(RERANK_HEAD), where, sql.raw(rerankTail(limit))])
type Reranked = { changed: number; last: number | null }

/** Re-rank these contents; returns how many keys changed. */
export async function rerankContents(db: Db, ids: readonly number[]): Promise<number> {
  const sorted = [...ids].sort((a, b) => a - b)
  let changed = 0
  for (let i = 0; i < sorted.length; i += CHUNK) {
    const chunk = `{${sorted.slice(i, i + CHUNK).join(',')}}`
    const [row] = await db.execute<{ changed: number }>(rerank(sql`c.id = any(${chunk}::int[])`))
    changed += row!.changed
  }
  return changed
}

/**
 * Re-rank the contents from id `from` on whose keys differ from what their votes and the prior give, writing at most
 * `budget` of them: how many changed, and where the next call goes on (null: the sweep reached the end).
 */
export async function sweepRankings(db: Db, from = 0, budget = Infinity): Promise<{ changed: number; next: number | null }> {
  const [range] = await db.execute<{ high: number | null }>(sql`select max(id) as high from contents`)
  const high = range?.high ?? null
  let changed = 0
  if (high === null) return { changed, next: null }
  for (let low = from; low <= high; low += SWEEP_RANGE) {
    const left = budget - changed
    const [row] = await db.execute<Reranked>(rerank(sql`c.id between ${low} and ${low + SWEEP_RANGE - 1}`,
      Number.isFinite(left) ? left : undefined))
    changed += row!.changed
    // The budget ran out inside this range: the next call goes on after the last row written.
    if (changed >= budget) return { changed, next: row!.last === null ? low + SWEEP_RANGE : row!.last + 1 }
  }
  return { changed, next: null }
}

/**
 * Replace the prior when C moved past the tolerance or m and z are not the settings'; true when this call replaced it
 * (and its caller must sweep). One statement, so no transaction stays open between round trips (a consumer frozen
 * in one would hold back the ledger's horizon: consumer/ledger.ts). One consumer at a time decides, under a
 * transaction-level advisory lock; the others find the prior already replaced, or the lock taken.
 */
export async function refreshPrior(db: Db, settings: RankingSettings): Promise<boolean> {
  const [row] = await db.execute<{ replaced: boolean }>(sql`
    with lock as (select pg_try_advisory_xact_lock(${PRIOR_LOCK}) as ok), totals as (
      select coalesce(sum(votes_0 + votes_1 + votes_2 + votes_3 + votes_4 + votes_5), 0) as n,
        coalesce(sum(votes_1 + 2 * votes_2 + 3 * votes_3 + 4 * votes_4 + 5 * votes_5), 0) as s
      from score_totals
    ), next as (
      select case when n > 0 then s::float8 / n else ${PRIOR_WITHOUT_VOTES}::float8 end as mean, n from totals
    ), replaced as (
      update ranking_prior p set mean = next.mean, weight = ${settings.weight}, z = ${settings.z}, votes = next.n, refreshed_at = now()
      from lock, next
      where lock.ok and (abs(p.mean - next.mean) > ${settings.tolerance} or p.weight <> ${settings.weight} or p.z <> ${settings.z})
      returning 1
    )
    select exists (select 1 from replaced) as replaced`)
  return row?.replaced === true
}

/**
 * The re-ranker of one consumer process: `changed` after each commit (the contents its votes touched), a tick every
 * refreshMs. `announce` tells the API processes that orderings moved (their cached pages go).
 */
export function createReranker(deps: { db: Db; settings: RankingSettings; log: Logger; announce: () => Promise<void> }) {
  const { db, settings, log } = deps
  // Insertion-ordered: the contents changed longest ago are re-ranked first.
  const dirty = new Set<number>()
  // Where a sweep goes on at the next tick (null: no sweep under way).
  let sweepFrom: number | null = 0
  let ticks = 0
  let running: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const once = () => (running ??= tick().finally(() => { running = undefined }))

  /** The first `n` changed contents, taken out of the set. */
  function takeDirty(n: number): number[] {
    const ids: number[] = []
    for (const id of dirty) {
      if (ids.length >= n) break
      ids.push(id)
      dirty.delete(id)
    }
    return ids
  }

  async function tick(): Promise<void> {
    try {
      if (await refreshPrior(db, settings) || ++ticks % SWEEP_EVERY_TICKS === 0) sweepFrom = 0
      let changed = 0
      let budget = settings.maxPerTick
      if (dirty.size > 0) {
        const ids = takeDirty(budget)
        changed = await rerankContents(db, ids).catch((err: unknown) => {
          for (const id of ids) dirty.add(id)
          throw err
        })
        budget -= ids.length
      }
      if (sweepFrom !== null && budget > 0) {
        const swept = await sweepRankings(db, sweepFrom, budget)
        sweepFrom = swept.next
        changed += swept.changed
      }
      if (changed > 0) await deps.announce()
    } catch (err) {
      log.warn({ err: (err as Error).message }, 're-ranking failed; trying again at the next tick')
    }
  }

  return {
    changed(contentIds: Iterable<number>) { for (const id of contentIds) dirty.add(id) },
    /** One tick now (tests; the timer runs them otherwise). */
    tick: once,
    start() {
      const next = () => {
        if (stopped) return
        timer = setTimeout(() => { void once().then(next) }, settings.refreshMs)
        timer.unref()
      }
      void once().then(next)
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      timer = undefined
      await running
    },
  }
}

export type Reranker = ReturnType<typeof createReranker>
