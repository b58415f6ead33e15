/**
 * Access tokens already verified, by their exact text, with the user they name and when they expire.
 * A hit is one Map lookup: no hashing of the token (fast-jwt's own cache hashes every token it looks
 * up) and no HMAC. Keyed by the whole token, so only a byte-identical token hits: a forged or altered
 * one misses and is verified in full. Tokens cannot be revoked before they expire, so a hit needs no
 * other check than the expiry.
 *
 * Bounded: past maxEntries the oldest entry goes (Map keeps insertion order), so a client cycling
 * through many valid tokens evicts entries but cannot grow the heap.
 */
export interface TokenCache {
  /** The user id of a cached, unexpired token; undefined otherwise. */
  get(token: string, nowMs: number): number | undefined
  set(token: string, userId: number, expiresAtMs: number): void
  readonly size: number
}

export function createTokenCache(maxEntries: number): TokenCache {
  const entries = new Map<string, { userId: number; expiresAtMs: number }>()
  return {
    get(token, nowMs) {
      const entry = entries.get(token)
      if (entry === undefined) return undefined
      if (nowMs < entry.expiresAtMs) return entry.userId
      entries.delete(token)
      return undefined
    },
    set(token, userId, expiresAtMs) {
      if (maxEntries <= 0) return
      entries.delete(token)
      entries.set(token, { userId, expiresAtMs })
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!)
    },
    get size() { return entries.size },
  }
}
