/**
 * Recent content list pages, in this process's memory. Whether an entry is still current is the
 * caller's question (change-tracker.ts); maxAgeMs bounds how long an entry can outlive a change
 * whose announcement was lost (a writer that died between its commit and its PUBLISH).
 *
 * Bounded by entries and by an estimate of their bytes (a page of 100 items with 10,000-character
 * descriptions is 2 MB), so a client walking many cursors cannot grow the heap without limit.
 * Insertion-ordered Map: the oldest entry is first, so eviction and the sweep of expired entries both
 * work from the front.
 */
export interface PageCache<T> {
  get(key: string): T | undefined
  set(key: string, value: T): void
  /** Entries held, and their estimated bytes (for tests and metrics). */
  readonly size: { entries: number; bytes: number }
}

export interface PageCacheOptions<T> {
  maxEntries: number
  maxBytes: number
  maxAgeMs: number
  /** Estimated bytes an entry holds. */
  sizeOf: (value: T) => number
  now?: () => number
}

export function createPageCache<T>(opts: PageCacheOptions<T>): PageCache<T> {
  const now = opts.now ?? Date.now
  const entries = new Map<string, { value: T; storedAt: number; bytes: number }>()
  let bytes = 0
  const remove = (key: string) => {
    const entry = entries.get(key)
    if (entry === undefined) return
    entries.delete(key)
    bytes -= entry.bytes
  }
  return {
    get(key) {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      if (now() - entry.storedAt >= opts.maxAgeMs) {
        remove(key)
        return undefined
      }
      return entry.value
    },
    set(key, value) {
      remove(key)
      const size = opts.sizeOf(value)
      if (opts.maxAgeMs <= 0 || opts.maxEntries <= 0 || size > opts.maxBytes) return
      const storedAt = now()
      entries.set(key, { value, storedAt, bytes: size })
      bytes += size
      for (const [oldest, entry] of entries) {
        const over = entries.size > opts.maxEntries || bytes > opts.maxBytes
        if (!over && storedAt - entry.storedAt < opts.maxAgeMs) break
        remove(oldest)
      }
    },
    get size() { return { entries: entries.size, bytes } },
  }
}
