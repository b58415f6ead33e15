/**
 * Every Redis key name is built here and nowhere else. A content's window (and lock) and
 * existence bitmap share the {shard} hash tag of the stream shard its votes go to, so the vote
 * script touches one Cluster slot. `shards` is VOTE_STREAM_SHARDS.
 */
export function redisKeys(prefix: string, shards = 1) {
  const shardOf = (contentId: number) => contentId % shards
  const tag = (contentId: number) => `{${shardOf(contentId)}}`
  return {
    shards,
    shardOf,
    stream: (shard: number) => `${prefix}votes:{${shard}}`,
    deadLetters: `${prefix}votes:dead`,
    /**
     * One bit per content id that exists, per shard; offsets are content ids. The name holds the shard
     * count: after VOTE_STREAM_SHARDS changes, contents sit in other shards, so every bitmap is a new,
     * incomplete one that the first vote on it rebuilds, instead of an old one, complete but lacking the
     * contents that moved in (their votes would be refused as unknown).
     */
    contentExists: (shard: number) => `${prefix}exists:{${shard}}:${shards}`,
    /** Where a rebuild stages its bitmap before OR-ing it into contentExists (same slot). */
    contentExistsStaging: (shard: number) => `${prefix}exists:{${shard}}:${shards}:rebuild`,
    /**
     * A content's vote window (vote.lua): votes accepted in the open window, or while the content is
     * locked, minus the lock's end in epoch ms. One key for both, so a vote reads one value.
     */
    window: (contentId: number) => `${prefix}win:${tag(contentId)}:${contentId}`,
    /** A shard's live locks (content id by lock end), and the channel vote.lua announces each new lock on. */
    locks: (shard: number) => `${prefix}locks:{${shard}}`,
    /**
     * A voter's vote requests this minute in the content's shard, counted by vote.lua; tagged with that shard
     * (one slot per script), so each shard holds its share of the limit (voteRequestsPerShard).
     */
    voteRequests: (contentId: number, userId: number) => `${prefix}rl:${tag(contentId)}:vote:${userId}`,
    /** The channel writers announce committed changes to content reads on (shared/read-changes.ts). */
    readChanges: `${prefix}reads:changes`,
    /** @fastify/rate-limit's nameSpace: it appends the client key itself. */
    rateLimit: `${prefix}rl:`,
  }
}

export type RedisKeys = ReturnType<typeof redisKeys>
