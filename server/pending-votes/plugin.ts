import fp from 'fastify-plugin'
import type { RedisTarget } from '../../shared/redis/target.js'
import { readEntryId, type EntryIdParts } from '../../shared/entry-version.js'
import { createPendingStore, type PendingVote } from './store.js'
import { startTail } from './tail.js'

/** The votes accepted (202) and not yet applied, as the read path and the vote routes see them. */
export interface PendingVotes {
  /** The vote route's own 202: this process shows the vote at once, before the tail reads it back. */
  record(userId: number, contentId: number, score: number | null, entryId: string): void
  /** One Map lookup: a reader with nothing pending pays no more. */
  hasAny(userId: number): boolean
  get(userId: number, contentId: number): PendingVote | undefined
  /** appliedVersion: PostgreSQL's votes.version for the pair (null: no row). Returns the vote still pending, or undefined. */
  settle(userId: number, contentId: number, appliedVersion: bigint | null): PendingVote | undefined
  /** Records held (metrics; tests). */
  readonly size: number
}

declare module 'fastify' {
  interface FastifyInstance {
    pendingVotes: PendingVotes
  }
}

export interface PendingVotesOptions {
  target: RedisTarget
  connectionName: string
  /** CONSUMER_GROUP: the group whose acknowledgements resolve a vote. */
  group: string
  /** PENDING_VOTES_MAX */
  maxRecords: number
  sweepMs?: number
  /** The tail's pause after a short read (tail.ts lingerMs). */
  lingerMs?: number
}

const SWEEP_MS = 1000
// Votes of other API processes show here up to this much later (this process's own at once, through record).
// Under a steady trickle of votes it turns one stream read per vote call (each read waking this process and
// Redis) into one per 10 ms: at 10,000 votes/s in calls of 12, the tail's CPU per vote went from about 20 µs
// to 10 µs, and Redis' from about 16 µs to 10 µs (XADD's own share included), on a loaded 2-core VM.
const LINGER_MS = 10

/**
 * This process's view of the votes accepted and not yet resolved: the store (store.ts), fed by the vote
 * route's record and by the tail of every shard's stream (tail.ts), which also drops what the group resolved.
 * A record lives from its vote's 202 until PostgreSQL holds that version (settle, on a read) or the group has
 * resolved its entry (the next sweep after the ack), or until the cap evicts it.
 */
export default fp<PendingVotesOptions>(async (app, opts) => {
  const { keys } = app
  const store = createPendingStore(opts.maxRecords)
  const id: EntryIdParts = { ms: 0, seq: 0 }
  const tail = startTail({
    target: opts.target, connectionName: opts.connectionName, group: opts.group, store,
    sweepMs: opts.sweepMs ?? SWEEP_MS, lingerMs: opts.lingerMs ?? LINGER_MS,
    streams: Array.from({ length: keys.shards }, (_, shard) => keys.stream(shard)), log: app.log,
  })
  app.addHook('onClose', () => tail.close())
  const pendingVotes: PendingVotes = {
    record(userId, contentId, score, entryId) {
      // An id beyond the version's bounds: the consumer dead-letters it, so it never is a pending vote.
      if (!readEntryId(entryId, id)) return
      store.putEntry(userId, contentId, score, keys.shardOf(contentId), id.ms, id.seq)
    },
    hasAny: store.hasAny,
    get: store.get,
    settle: store.settle,
    get size() { return store.size },
  }
  app.decorate('pendingVotes', pendingVotes)
}, { name: 'pendingVotes', dependencies: ['redis'] })
