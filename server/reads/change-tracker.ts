/**
 * What this API process knows, from Redis pub/sub, about changes to content reads: which contents
 * changed since a moment, and which contents are locked until when. List pages are served from
 * memory while nothing on them changed, with no Redis round trip per read (shared/read-changes.ts
 * says who announces what; change-listener.ts feeds what this process hears into the tracker).
 *
 * Moments are a counter of the messages received (`seq`). A reader takes `begin()` BEFORE its
 * query: a change committed after the query's snapshot is announced after the commit, so it arrives
 * after `begin()` and marks the page stale. Not `live` (subscriber disconnected: messages may be
 * lost), nothing is current and nothing may be cached; on reconnecting everything read before is
 * stale and the locks are loaded afresh.
 */
export interface Tracked {
  /** begin() of the read that produced it. */
  since: number
  contentIds: readonly number[]
  /** Last seq at which it was found current: a later check at the same seq is free. */
  verifiedSeq: number
}

export interface ChangeTracker {
  readonly live: boolean
  /** The moment to start a cacheable read at; null while not live (read, but do not cache). */
  begin(): number | null
  /** Nothing it shows changed since it was read. */
  isCurrent(page: Tracked): boolean
  /** When the content's lock ends (epoch ms), or null when it is not locked. Only meaningful while live. */
  lockedUntil(contentId: number, nowMs: number): number | null
  contentsChanged(contentIds: readonly number[]): void
  allChanged(): void
  lockSet(contentId: number, untilMs: number): void
  /** Lock announcements received (lockSet calls) since the start: tally_locks_set_total. */
  readonly locksSeen: number
  /** The subscription dropped: messages may be lost from now on. */
  disconnected(): void
  /** Subscribed again, with every lock live now: what was read before may be stale. */
  resynced(locks: Iterable<[contentId: number, untilMs: number]>): void
}

// Past this many changed contents remembered, forget them all and treat everything as changed:
// bounds memory under a drain that touches every content.
const MAX_TRACKED_CHANGES = 200_000

export function createChangeTracker(): ChangeTracker {
  let live = false
  let seq = 0
  let allChangedAt = 0
  let lastChangeAt = 0
  const changedAt = new Map<number, number>()
  const locks = new Map<number, number>()
  let locksSeen = 0

  const allChanged = () => {
    allChangedAt = lastChangeAt = ++seq
    changedAt.clear()
  }
  const contentsChanged = (contentIds: readonly number[]) => {
    if (changedAt.size + contentIds.length > MAX_TRACKED_CHANGES) return allChanged()
    lastChangeAt = ++seq
    for (const id of contentIds) changedAt.set(id, seq)
  }

  return {
    get live() { return live },
    begin: () => (live ? seq : null),
    isCurrent(page) {
      if (!live || allChangedAt > page.since) return false
      if (page.verifiedSeq === seq || lastChangeAt <= page.since) return true
      for (const id of page.contentIds) if ((changedAt.get(id) ?? 0) > page.since) return false
      page.verifiedSeq = seq
      return true
    },
    lockedUntil(contentId, nowMs) {
      const until = locks.get(contentId)
      if (until === undefined) return null
      if (until > nowMs) return until
      locks.delete(contentId)
      return null
    },
    contentsChanged,
    allChanged,
    get locksSeen() { return locksSeen },
    lockSet(contentId, untilMs) {
      locksSeen++
      if ((locks.get(contentId) ?? 0) < untilMs) locks.set(contentId, untilMs)
      // The page shows the lock: read it again.
      contentsChanged([contentId])
    },
    disconnected() { live = false },
    resynced(current) {
      locks.clear()
      for (const [id, until] of current) locks.set(id, until)
      allChanged()
      live = true
    },
  }
}
