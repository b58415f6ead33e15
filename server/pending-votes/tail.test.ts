// startTail against a real Redis: entries on any shard's stream reach the store (scores and retractions);
// the sweep drops what the group acknowledged and keeps what it holds; a tail started late reads from the
// watermark; newest wins, the cap evicts, settle drops; a dropped connection is read again from the watermarks.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { entryVersion } from '../../shared/entry-version.js'
import { redisKeys } from '../../shared/redis/keys.js'
import { DEFAULT_REDIS_URL } from '../../shared/config.js'
import { isolatedPrefix, openRedis } from '../../test/consumer-helpers.js'
import { waitFor } from '../../test/helpers.js'
import { createPendingStore, type PendingStore } from './store.js'
import { startTail } from './tail.js'

const GROUP = 'g'
const url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL
const silent = { warn: () => {}, info: () => {} }

function world(t: TestContext, shards = 2) {
  const keys = redisKeys(isolatedPrefix(), shards)
  const streams = Array.from({ length: shards }, (_, s) => keys.stream(s))
  const redis = openRedis(t)
  const vote = (user: number, content: number, score: number | null) =>
    redis.xadd(keys.stream(keys.shardOf(content)), '*', 'user', String(user), 'content', String(content),
      'score', score === null ? '-' : String(score)) as Promise<string>
  return { keys, streams, redis, vote }
}

function tail(t: TestContext, streams: readonly string[], store: PendingStore, connectionName = `tally-test:pending:${process.pid}`) {
  const started = startTail({ target: { url }, connectionName, streams, group: GROUP, store, sweepMs: 50, log: silent })
  t.after(() => started.close())
  return started
}

/** Deliver every entry of the stream to consumer c of the group, acking those `ack` keeps. */
async function deliver(redis: Redis, stream: string, ack: (id: string) => boolean) {
  const read = await redis.xreadgroup('GROUP', GROUP, 'c', 'COUNT', 1000, 'STREAMS', stream, '>') as [string, [string, string[]][]][] | null
  const ids = (read?.[0]?.[1] ?? []).map(([id]) => id).filter(ack)
  if (ids.length > 0) await redis.xack(stream, GROUP, ...ids)
}

test('votes and retractions on any shard\'s stream reach the store', async (t) => {
  const { streams, vote } = world(t)
  const store = createPendingStore(100)
  tail(t, streams, store)
  const first = await vote(1, 10, 4)
  const second = await vote(1, 11, null)
  await vote(2, 11, 0)
  await waitFor(() => store.size === 3, { what: 'three records' })
  const { score, version, shard, entryId } = store.get(1, 10)!
  assert.deepEqual({ score, version, shard, entryId }, { score: 4, version: entryVersion(first), shard: 0, entryId: first })
  assert.equal(store.get(1, 11)?.entryId, second)
  assert.equal(store.get(1, 11)?.score, null, 'a retraction is pending as null')
  assert.equal(store.get(1, 11)?.shard, 1)
  assert.equal(store.get(2, 11)?.score, 0)
})

test('the sweep drops what the group acknowledged and keeps what it delivered but holds', async (t) => {
  const { streams, redis, vote } = world(t, 1)
  await redis.xgroup('CREATE', streams[0]!, GROUP, '0', 'MKSTREAM')
  const store = createPendingStore(100)
  tail(t, streams, store)
  const acked = await vote(1, 1, 1)
  const held = await vote(2, 1, 2)
  await waitFor(() => store.size === 2, { what: 'both votes recorded' })
  await deliver(redis, streams[0]!, (id) => id === acked)
  await waitFor(() => store.get(1, 1) === undefined, { what: 'the acknowledged vote dropped' })
  assert.equal(store.get(2, 1)?.entryId, held, 'pending in the group: still pending here')

  await redis.xack(streams[0]!, GROUP, held)
  await waitFor(() => store.size === 0, { what: 'the last vote dropped once acknowledged' })
})

test('a tail started after the votes knows those the group has not resolved, and only those', async (t) => {
  const { streams, redis, vote } = world(t, 1)
  await redis.xgroup('CREATE', streams[0]!, GROUP, '0', 'MKSTREAM')
  await vote(1, 1, 1)
  await vote(2, 1, 2)
  await deliver(redis, streams[0]!, () => true)
  const delivered = await vote(3, 1, 3)
  await deliver(redis, streams[0]!, () => false)
  const undelivered = await vote(4, 1, 4)
  const store = createPendingStore(100)
  tail(t, streams, store)
  await waitFor(() => store.size === 2, { what: 'the two unresolved votes' })
  assert.equal(store.get(3, 1)?.entryId, delivered)
  assert.equal(store.get(4, 1)?.entryId, undelivered)
  assert.equal(store.hasAny(1) || store.hasAny(2), false, 'acknowledged before the start: never recorded')
})

test('without a group nothing is resolved: a late tail reads the whole stream', async (t) => {
  const { streams, vote } = world(t, 1)
  await vote(1, 1, 1)
  await vote(2, 1, 2)
  const store = createPendingStore(100)
  tail(t, streams, store)
  await waitFor(() => store.size === 2, { what: 'both votes' })
})

test('newest wins, the cap evicts the oldest, settle drops a vote once applied', async (t) => {
  const { streams, vote } = world(t, 1)
  const store = createPendingStore(2)
  tail(t, streams, store)
  await vote(1, 1, 1)
  const newer = await vote(1, 1, 5)
  await waitFor(() => store.get(1, 1)?.entryId === newer, { what: 'the newer vote' })
  assert.equal(store.size, 1)
  store.put(1, 1, { score: 2, version: entryVersion(newer)! - 1n, shard: 0, entryId: 'older' })
  assert.equal(store.get(1, 1)?.score, 5, 'an older vote arriving late does not replace it')

  const two = await vote(2, 1, 2)
  const three = await vote(3, 1, 3)
  await waitFor(() => store.get(3, 1) !== undefined, { what: 'the third voter' })
  assert.equal(store.get(1, 1), undefined, 'the oldest record evicted at the cap')
  assert.equal(store.size, 2)

  assert.equal(store.settle(2, 1, entryVersion(two)! - 1n)?.entryId, two, 'an older applied vote leaves it pending')
  assert.equal(store.settle(2, 1, entryVersion(two)), undefined)
  assert.equal(store.get(2, 1), undefined)
  assert.equal(store.get(3, 1)?.entryId, three)
})

test('after its connection drops, the tail reads on from the watermarks', async (t) => {
  const { streams, redis, vote } = world(t, 1)
  const store = createPendingStore(100)
  const name = `tally-test:pending:${process.pid}:${Date.now()}`
  tail(t, streams, store, name)
  await vote(1, 1, 1)
  await waitFor(() => store.size === 1, { what: 'the first vote' })
  const clients = await redis.client('LIST') as string
  const ids = clients.split('\n').filter((line) => line.includes(` name=${name} `)).map((line) => /\bid=(\d+)/.exec(line)![1]!)
  assert.equal(ids.length, 1, 'the tail\'s one connection')
  await redis.client('KILL', 'ID', ids[0]!)
  await vote(2, 1, 2)
  await waitFor(() => store.get(2, 1) !== undefined, { what: 'the vote after the reconnect' })
})

test('a tail whose Redis does not answer still closes at once', async () => {
  const started = startTail({
    target: { url: 'redis://127.0.0.1:1' }, connectionName: 'tally-test:pending:nowhere', streams: ['nowhere'], group: GROUP,
    store: createPendingStore(10), sweepMs: 50, log: silent,
  })
  await new Promise((resolve) => setTimeout(resolve, 100))
  const closing = started.close()
  const closed = await Promise.race([closing.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 2000))])
  assert.equal(closed, true)
})
