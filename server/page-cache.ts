/**
 * Recent content list pages, in this process's memory, each with the read generation it was read
 * under (shared/read-generation.ts). The caller serves an entry only when that generation is still
 * Redis' current one, which it learns in the same MGET that reads the page's locks: a hit costs no
 * PostgreSQL query and no extra round trip. maxAgeMs bounds how long an entry can outlive a change
 * whose generation bump was lost (a writer that died between its commit and the bump).
 * Insertion-ordered Map: re-setting a key moves it to the end, and the oldest entry is evicted first.
 */
export interface PageCache<T> {
  get(key: string): { generation: string; value: T } | undefined
  set(key: string, generation: string, value: T): void
}

export function createPageCache<T>(opts: { maxEntries: number; maxAgeMs: number; now?: () => number }): PageCache<T> {
  const now = opts.now ?? Date.now
  const entries = new Map<string, { generation: string; value: T; storedAt: number }>()
  return {
    get(key) {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      if (now() - entry.storedAt >= opts.maxAgeMs) {
        entries.delete(key)
        return undefined
      }
      return entry
    },
    set(key, generation, value) {
      if (opts.maxAgeMs <= 0 || opts.maxEntries <= 0) return
      entries.delete(key)
      entries.set(key, { generation, value, storedAt: now() })
      if (entries.size > opts.maxEntries) entries.delete(entries.keys().next().value!)
    },
  }
}
