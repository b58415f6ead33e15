// readNew against a real Redis: a short read lingers and tops the batch up with what arrived meanwhile,
// a full read or CONSUMER_LINGER_MS=0 does not wait, and an empty stream gives no batch; one read covers
// every shard's stream; a lost group is made again, and a stopping consumer leaves the group unless it
// still holds entries.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { redisKeys } from '../shared/redis/keys.js'
import { isolatedPrefix, openRedis } from '../test/consumer-helpers.js'
import { waitFor } from '../test/helpers.js'
import { claimStale, ensureGroup, isNoGroup, leaveGroup, readNew, recreateGroups, type StreamSettings } from './stream.js'

const settings = (over: Partial<StreamSettings> = {}): StreamSettings => ({
  group: 'g', consumer: 'c1', batchSize: 100, blockMs: 50, lingerMs: 0, claimIdleMs: 1000, maxDeliveries: 5,
  deadLetters: 'unused', deadLetterMaxLen: 10, ...over,
})

/** readNew of one stream: its batch, or null when it had nothing. */
const readOne = async (redis: Redis, stream: string, s: StreamSettings) => (await readNew(redis, [stream], s))[0] ?? null

async function streamWithVotes(t: Parameters<typeof openRedis>[0], n: number) {
  const redis = openRedis(t)
  const stream = redisKeys(isolatedPrefix()).stream(0)
  await ensureGroup(redis, stream, 'g')
  const add = async (count: number) => {
    for (let i = 0; i < count; i++) await redis.xadd(stream, '*', 'user', '1', 'content', '1', 'score', '3')
  }
  await add(n)
  return { redis, stream, add }
}

test('a short read lingers and takes the votes that arrived meanwhile into the same batch', async (t) => {
  const { redis, stream, add } = await streamWithVotes(t, 3)
  const reading = readOne(redis, stream, settings({ lingerMs: 400 }))
  // The 2 must come during the linger, after the first read took the 3 (pending on c1), not before it.
  await waitFor(async () => (await redis.xpending(stream, 'g') as [number])[0] === 3, { what: 'the first read to take the 3' })
  await add(2)
  const batch = await reading
  assert.equal(batch?.entries.length, 5)
})

test('without linger a short read returns at once with what it found', async (t) => {
  const { redis, stream, add } = await streamWithVotes(t, 3)
  const batch = await readOne(redis, stream, settings({ lingerMs: 0 }))
  await add(2)
  assert.equal(batch?.entries.length, 3)
  assert.equal((await readOne(redis, stream, settings()))?.entries.length, 2, 'the later votes come in the next batch')
})

test('a full read never lingers, and the batch size caps the top-up', async (t) => {
  const { redis, stream } = await streamWithVotes(t, 7)
  const full = await readOne(redis, stream, settings({ batchSize: 4, lingerMs: 60_000 }))
  assert.equal(full?.entries.length, 4, 'a full batch is returned without waiting a minute')
  const rest = await readOne(redis, stream, settings({ batchSize: 4, lingerMs: 10 }))
  assert.equal(rest?.entries.length, 3)
  assert.equal(await readOne(redis, stream, settings()), null, 'an empty stream gives no batch')
})

test('one read takes every shard\'s new entries, a batch per stream, and waits for the first to arrive in any', async (t) => {
  const redis = openRedis(t)
  const keys = redisKeys(isolatedPrefix(), 3)
  const streams = [0, 1, 2].map((shard) => keys.stream(shard))
  for (const stream of streams) await ensureGroup(redis, stream, 'g')
  for (let i = 0; i < 3; i++) await redis.xadd(streams[0]!, '*', 'user', '1', 'content', '3', 'score', '1')
  await redis.xadd(streams[2]!, '*', 'user', '1', 'content', '5', 'score', '2')
  const batches = await readNew(redis, streams, settings({ batchSize: 2 }))
  assert.deepEqual(batches.map((b) => [b.stream, b.entries.length]), [[streams[0], 2], [streams[2], 1]], 'COUNT is per stream')
  assert.deepEqual((await readNew(redis, streams, settings())).map((b) => [b.stream, b.entries.length]), [[streams[0], 1]])

  // Blocking on three empty streams for a minute (on a connection of its own): an entry on the middle one ends the wait.
  const blocking = openRedis(t)
  const reading = readNew(blocking, streams, settings({ blockMs: 60_000 }))
  await waitFor(async () => /flags=b .*cmd=xreadgroup/.test((await redis.client('LIST')) as string), { what: 'a read to block' })
  await redis.xadd(streams[1]!, '*', 'user', '2', 'content', '4', 'score', '5')
  assert.deepEqual((await reading).map((b) => [b.stream, b.entries.length]), [[streams[1], 1]])
})

test('entries taken over carry their true delivery counts, also with other pending entries of ours between them', async (t) => {
  const { redis, stream } = await streamWithVotes(t, 10)
  const ids = ((await redis.xrange(stream, '-', '+')) as [string, string[]][]).map(([id]) => id)
  await redis.xreadgroup('GROUP', 'g', 'ghost', 'COUNT', 10, 'STREAMS', stream, '>')
  await redis.xclaim(stream, 'g', 'c1', 0, ...ids.slice(1, 9)) // ours, between the two we are about to take over
  for (let i = 0; i < 2; i++) await redis.xclaim(stream, 'g', 'ghost2', 0, ids[9]!) // delivered 3 times
  // Idle time is what XAUTOCLAIM goes by: wait until the two to take over have been idle past claimIdleMs (50).
  const idleMs = async (id: string) => ((await redis.xpending(stream, 'g', id, id, 1)) as [string, string, number, number][])[0]![2]
  await waitFor(async () => (await idleMs(ids[0]!)) > 50 && (await idleMs(ids[9]!)) > 50, { what: 'the entries to be idle past 50 ms' })
  await redis.xclaim(stream, 'g', 'c1', 0, ...ids.slice(1, 9), 'JUSTID') // ours are fresh, not taken again
  const { batch } = await claimStale(redis, stream, settings({ claimIdleMs: 50 }), '0-0')
  assert.deepEqual(batch?.entries.map(([id]) => id), [ids[0], ids[9]])
  assert.equal(batch?.deliveries?.get(ids[0]!), 2)
  assert.equal(batch?.deliveries?.get(ids[9]!), 4)
})

test('a stream lost with its group gives NOGROUP, and recreateGroups makes both again from the start', async (t) => {
  const { redis, stream, add } = await streamWithVotes(t, 0)
  await redis.del(stream) // what a Redis restart without persistence leaves
  const lost = await readOne(redis, stream, settings()).catch((err: unknown) => err)
  assert.ok(isNoGroup(lost), `NOGROUP, got ${String(lost)}`)
  assert.equal(isNoGroup(new Error('ERR something else')), false)
  await recreateGroups(redis, [stream], 'g')
  await add(2)
  assert.equal((await readOne(redis, stream, settings()))?.entries.length, 2)
})

test('a stopping consumer leaves the group when it holds nothing, and stays while it holds pending entries', async (t) => {
  const { redis, stream } = await streamWithVotes(t, 1)
  const consumers = async () => ((await redis.xinfo('CONSUMERS', stream, 'g')) as unknown[][]).map((c) => String(c[1]))
  await redis.xreadgroup('GROUP', 'g', 'holder', 'COUNT', 1, 'STREAMS', stream, '>')
  await redis.xgroup('CREATECONSUMER', stream, 'g', 'idle')
  await leaveGroup(redis, [stream], 'g', 'holder')
  await leaveGroup(redis, [stream], 'g', 'idle')
  assert.deepEqual(await consumers(), ['holder'], 'its pending entry stays in the PEL, to be taken over')
})
