import { SEQ_FACTOR } from '../../shared/entry-version.js'

/**
 * A vote the API accepted (202) that the consumer group may not have resolved yet: its stream entry. score
 * null is a retraction. version is entryVersion(entryId), the value votes.version takes when it is applied.
 */
export interface PendingVote { readonly score: number | null; readonly version: bigint; readonly shard: number; readonly entryId: string }

/** The lowest entry id of a shard the group has not resolved: every entry below it is applied, stale or dead. */
export interface Watermark { ms: number; seq: number }

export interface PendingStore {
  /** Keeps the newer version of a pair; a vote below its shard's last watermark is resolved already and not kept. */
  put(userId: number, contentId: number, vote: PendingVote): void
  /** put for the tail, from the entry id's two numbers: it builds no version or id per entry (they are built when read). */
  putEntry(userId: number, contentId: number, score: number | null, shard: number, ms: number, seq: number): void
  hasAny(userId: number): boolean
  get(userId: number, contentId: number): PendingVote | undefined
  /**
   * appliedVersion = PostgreSQL's votes.version for the pair (null: no row). Drops the record when
   * applied >= its version; returns the record still pending, or undefined.
   */
  settle(userId: number, contentId: number, appliedVersion: bigint | null): PendingVote | undefined
  /** Drops the shard's records below the watermark ('all': every record of the shard); returns how many went. */
  dropResolved(shard: number, watermark: Watermark | 'all'): number
  readonly size: number
}

const BIG_SEQ_FACTOR = BigInt(SEQ_FACTOR)
const SEQ_MASK = BIG_SEQ_FACTOR - 1n

/**
 * One record: the entry id kept as its two numbers, the version and id strings made only when asked (on a
 * read of a voter with something pending), since the tail puts every vote of the service and most are
 * resolved unread. `gone` marks a record removed while its shard's queue still holds it.
 */
class Rec implements PendingVote {
  gone = false
  constructor(
    readonly userId: number, readonly contentId: number, readonly score: number | null,
    readonly shard: number, readonly ms: number, readonly seq: number
  ) {}

  get version(): bigint { return BigInt(this.ms) * BIG_SEQ_FACTOR + BigInt(this.seq) }
  get entryId(): string { return `${this.ms}-${this.seq}` }
}

/** Entry ids compare as numbers, ms then seq, never as strings. */
const isBelow = (rec: Rec, ms: number, seq: number): boolean => rec.ms < ms || (rec.ms === ms && rec.seq < seq)

/** A user's records: the record itself while there is one (most users), a map by content id past that. */
type UserVotes = Rec | Map<number, Rec>

/**
 * A shard's records in the order they were put, from `head` on; removed ones stay, marked gone, until the next
 * sweep of the shard (or a put that finds the queue mostly gone) rebuilds it. An array rather than a Set: a
 * push costs far less than a hashed insert, and this runs for every vote any API process accepts.
 */
interface ShardQueue { recs: Rec[]; head: number; live: number; floor: Watermark }

/**
 * The unresolved votes this API process knows of, per user, in memory: no I/O, so the read path can ask it on
 * every request. hasAny is one Map lookup, so readers with nothing pending pay nothing else.
 *
 * At most maxRecords records: past it the oldest goes (of the shards' first records in the order put, the one
 * with the oldest entry; records come in nearly in id order, so this is the oldest but for a few). A
 * vote evicted so shows as PostgreSQL has it (the applied score, or the older one while it is not applied
 * yet), never as a score the voter did not give: the store only ever lays newer votes over what PostgreSQL
 * says, it never stands in for it.
 */
export function createPendingStore(maxRecords: number): PendingStore {
  if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new RangeError(`maxRecords must be a positive integer, got ${maxRecords}`)
  const byUser = new Map<number, UserVotes>()
  const shards = new Map<number, ShardQueue>()
  let size = 0

  const find = (userId: number, contentId: number): Rec | undefined => {
    const votes = byUser.get(userId)
    if (votes === undefined) return undefined
    if (votes instanceof Map) return votes.get(contentId)
    return votes.contentId === contentId ? votes : undefined
  }

  const queueOf = (shard: number): ShardQueue => {
    let queue = shards.get(shard)
    // The floor: every entry below it is resolved (the last watermark). The tail may read an entry after
    // the group resolved it (a tail that lags, a restart from an older watermark): such an entry is not kept.
    if (queue === undefined) shards.set(shard, (queue = { recs: [], head: 0, live: 0, floor: { ms: 0, seq: 0 } }))
    return queue
  }

  const remove = (rec: Rec): void => {
    rec.gone = true
    size--
    shards.get(rec.shard)!.live--
    const votes = byUser.get(rec.userId)
    if (votes === rec) byUser.delete(rec.userId)
    else if (votes instanceof Map && votes.get(rec.contentId) === rec) {
      votes.delete(rec.contentId)
      if (votes.size === 0) byUser.delete(rec.userId)
    }
  }

  /** The queue rebuilt from its live records that `drop` spares; returns how many it dropped. */
  const rebuild = (queue: ShardQueue, drop: (rec: Rec) => boolean): number => {
    const kept: Rec[] = []
    let dropped = 0
    for (let i = queue.head; i < queue.recs.length; i++) {
      const rec = queue.recs[i]!
      if (rec.gone) continue
      if (drop(rec)) {
        remove(rec)
        dropped++
      } else kept.push(rec)
    }
    queue.recs = kept
    queue.head = 0
    return dropped
  }

  const firstLive = (queue: ShardQueue): Rec | undefined => {
    while (queue.head < queue.recs.length && queue.recs[queue.head]!.gone) queue.head++
    return queue.recs[queue.head]
  }

  /** The oldest record: one look per shard (VOTE_STREAM_SHARDS), at a put past the cap only. */
  const evictOldest = (): void => {
    let oldest: Rec | undefined
    for (const queue of shards.values()) {
      const rec = firstLive(queue)
      if (rec !== undefined && (oldest === undefined || isBelow(rec, oldest.ms, oldest.seq))) oldest = rec
    }
    if (oldest !== undefined) remove(oldest)
  }

  const putEntry = (userId: number, contentId: number, score: number | null, shard: number, ms: number, seq: number): void => {
    const queue = queueOf(shard)
    if (isBelowFloor(queue.floor, ms, seq)) return
    const votes = byUser.get(userId)
    let held: Rec | undefined
    if (votes instanceof Map) held = votes.get(contentId)
    else if (votes !== undefined && votes.contentId === contentId) held = votes
    // Equal ids are the same entry (recorded by the route, then read by the tail): the first is kept.
    if (held !== undefined) {
      if (!isBelow(held, ms, seq)) return
      remove(held)
    }
    const rec = new Rec(userId, contentId, score, shard, ms, seq)
    const now = byUser.get(userId)
    if (now === undefined) byUser.set(userId, rec)
    else if (now instanceof Map) now.set(contentId, rec)
    else byUser.set(userId, new Map([[now.contentId, now], [contentId, rec]]))
    queue.recs.push(rec)
    queue.live++
    size++
    if (queue.recs.length - queue.head > 2 * queue.live + 1024) rebuild(queue, () => false)
    if (size > maxRecords) evictOldest()
  }

  return {
    put(userId, contentId, vote) {
      const version = vote.version
      putEntry(userId, contentId, vote.score, vote.shard, Number(version >> 21n), Number(version & SEQ_MASK))
    },
    putEntry,
    hasAny: (userId) => byUser.has(userId),
    get: find,
    settle(userId, contentId, appliedVersion) {
      const rec = find(userId, contentId)
      if (rec === undefined) return undefined
      if (appliedVersion !== null && appliedVersion >= rec.version) {
        remove(rec)
        return undefined
      }
      return rec
    },
    dropResolved(shard, watermark) {
      const queue = queueOf(shard)
      if (watermark === 'all') return rebuild(queue, () => true)
      const { ms, seq } = watermark
      if (!isBelowFloor(queue.floor, ms, seq)) queue.floor = { ms, seq }
      // Every record of the shard is looked at: records arrive nearly but not strictly in id order (a vote
      // recorded by its route before the tail reads an older one), so stopping at the first newer one could
      // keep a resolved vote, and a dead-lettered one would never be settled by PostgreSQL.
      return rebuild(queue, (rec) => isBelow(rec, ms, seq))
    },
    get size() { return size },
  }
}

const isBelowFloor = (floor: Watermark, ms: number, seq: number): boolean => ms < floor.ms || (ms === floor.ms && seq < floor.seq)
