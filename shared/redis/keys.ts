import calculateSlot from 'cluster-key-slot'

const CLUSTER_SLOTS = 16384
const tagsByShardCount = new Map<number, readonly string[]>()

/**
 * The hash tag of each of `shards` shards, chosen so the shards spread evenly over a Redis Cluster's
 * masters. The plain tags 0…S-1 hash to slots that cluster wherever CRC16 puts them: 6 shards on 3
 * masters (slots split evenly, as redis-cli does) landed 1 / 3 / 2, and no count from 3 to 12 came out
 * even. Shard i's tag is the first of "i", "i.1", "i.2", … whose slot lies in the middle half of the
 * i-th 1/S of the slots, so with S a multiple of the masters each master holds S / masters shards, and
 * a slot split that differs from redis-cli's by a few slots at the edges changes nothing. One shard keeps
 * the tag 0 (the single-Redis default, named as before). Found in about 2·S tries per shard, once per count.
 */
export function shardTags(shards: number): readonly string[] {
  let tags = tagsByShardCount.get(shards)
  if (tags === undefined) {
    tags = shards === 1
      ? ['0']
      : Array.from({ length: shards }, (_, shard) => {
        const width = CLUSTER_SLOTS / shards
        const [from, to] = [shard * width + width / 4, shard * width + (3 * width) / 4]
        for (let n = 0; ; n++) {
          const tag = n === 0 ? String(shard) : `${shard}.${n}`
          const slot = calculateSlot(tag)
          if (slot >= from && slot < to) return tag
        }
      })
    tagsByShardCount.set(shards, tags)
  }
  return tags
}

/**
 * Every Redis key name is built here and nowhere else. A content's window (and lock) and
 * existence bitmap share the {tag} of the stream shard its votes go to (shardTags), so the vote
 * script touches one Cluster slot. `shards` is VOTE_STREAM_SHARDS.
 */
export function redisKeys(prefix: string, shards = 1) {
  const tags = shardTags(shards)
  const shardOf = (contentId: number) => contentId % shards
  const shardTag = (shard: number) => `{${tags[shard]}}`
  const tag = (contentId: number) => shardTag(shardOf(contentId))
  return {
    shards,
    shardOf,
    stream: (shard: number) => `${prefix}votes:${shardTag(shard)}`,
    deadLetters: `${prefix}votes:dead`,
    /**
     * One bit per content id that exists, per shard; offsets are content ids. The name holds the shard
     * count: after VOTE_STREAM_SHARDS changes, contents sit in other shards, so every bitmap is a new,
     * incomplete one that the first vote on it rebuilds, instead of an old one, complete but lacking the
     * contents that moved in (their votes would be refused as unknown).
     */
    contentExists: (shard: number) => `${prefix}exists:${shardTag(shard)}:${shards}`,
    /** Where a rebuild stages its bitmap before OR-ing it into contentExists (same slot). */
    contentExistsStaging: (shard: number) => `${prefix}exists:${shardTag(shard)}:${shards}:rebuild`,
    /**
     * A content's vote window (vote.lua): votes accepted in the open window, or while the content is
     * locked, minus the lock's end in epoch ms. One key for both, so a vote reads one value.
     */
    window: (contentId: number) => `${prefix}win:${tag(contentId)}:${contentId}`,
    /** A shard's live locks (content id by lock end), and the channel vote.lua announces each new lock on. */
    locks: (shard: number) => `${prefix}locks:${shardTag(shard)}`,
    /**
     * A voter's vote requests this minute in the content's shard, counted by vote.lua; tagged with that shard
     * (one slot per script), so each shard holds its share of the limit (voteRequestsPerShard).
     */
    voteRequests: (contentId: number, userId: number) => `${prefix}rl:${tag(contentId)}:vote:${userId}`,
    /** The channel writers announce committed changes to content reads on (shared/read-changes.ts). */
    readChanges: `${prefix}reads:changes`,
    /** @fastify/rate-limit's nameSpace: it appends the client key itself. */
    rateLimit: `${prefix}rl:`,
    /**
     * Failed logins of one account (server/login-throttle.ts): in all, from one client network, and the networks
     * the account logged in from. `account` is a digest of the username key: one {tag}, one slot per account.
     */
    loginFailures: (account: string) => `${prefix}login:{${account}}:failures`,
    loginFailuresFrom: (account: string, network: string) => `${prefix}login:{${account}}:failures:${network}`,
    loginKnownNetwork: (account: string, network: string) => `${prefix}login:{${account}}:known:${network}`,
  }
}

export type RedisKeys = ReturnType<typeof redisKeys>
