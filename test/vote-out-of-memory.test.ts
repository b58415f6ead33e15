import { test } from 'node:test'
import assert from 'node:assert/strict'
import { closeRedis, createRedis } from '../shared/redis/client.js'
import { redisKeys } from '../shared/redis/keys.js'
import { createVoteCaller } from '../shared/redis/vote-script.js'
import { throwawayRedis } from './throwaway.js'

// A Redis that refuses writes (out of memory) answers each vote "not decided", and none is half done:
// nothing in the stream, no window, no request counted. Its own throwaway server: maxmemory is set on it.
test('a Redis out of memory leaves every vote of the batch undecided (503) and writes nothing', async (t) => {
  const server = await throwawayRedis(t)
  const redis = createRedis(server.url)
  t.after(() => closeRedis(redis))
  const keys = redisKeys('oom:', 1)
  await redis.setbit(keys.contentExists(0), 0, 1)
  await redis.setbit(keys.contentExists(0), 7, 1)
  const cast = createVoteCaller(redis, keys, { limit: 10, windowSeconds: 60, lockSeconds: 120, requestsPerMinute: 100 })
  const far = () => Date.now() + 60_000
  assert.equal((await cast(1, 7, 3, far())).kind, 'accepted', 'with memory to spare the vote goes through')

  await redis.config('SET', 'maxmemory-policy', 'noeviction')
  await redis.config('SET', 'maxmemory', '1')
  const outcomes = await Promise.all([cast(2, 7, 4, far()), cast(3, 7, 5, far()), cast(1, 7, 1, far())])
  assert.deepEqual(outcomes.map((o) => o.kind === 'queue_unavailable' && o.reason), ['not_decided', 'not_decided', 'not_decided'])
  await redis.config('SET', 'maxmemory', '0')

  assert.equal(await redis.xlen(keys.stream(0)), 1, 'only the vote cast before the limit is in the stream')
  assert.equal(await redis.get(keys.window(7)), '1', 'and only it is counted in the window')
  assert.equal(await redis.get(keys.voteRequests(7, 2)), null, 'a refused write counted no request')
})
