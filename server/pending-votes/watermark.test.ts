// readWatermark against a real Redis: nothing resolved without a stream or group; the smallest pending id
// while entries are pending; one past the last-delivered id when none are. idBefore for XREAD's exclusive start.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isolatedPrefix, openRedis } from '../../test/consumer-helpers.js'
import { redisKeys } from '../../shared/redis/keys.js'
import { idBefore, readWatermark } from './watermark.js'

test('idBefore is the id just below, across a millisecond', () => {
  assert.equal(idBefore('5-3'), '5-2')
  assert.equal(idBefore('5-0'), '4-18446744073709551615')
  assert.equal(idBefore('0-0'), '0-0')
  assert.equal(idBefore('1765000000000-0'), '1764999999999-18446744073709551615')
})

test('the watermark: none without a group, the smallest pending id, then one past the last delivered', async (t) => {
  const redis = openRedis(t)
  const stream = redisKeys(isolatedPrefix()).stream(0)
  assert.equal(await readWatermark(redis, stream, 'g'), null, 'no stream')
  await redis.xadd(stream, '5-1', 'user', '1', 'content', '1', 'score', '1')
  assert.equal(await readWatermark(redis, stream, 'g'), null, 'no group')
  await redis.xgroup('CREATE', stream, 'g', '0')
  assert.deepEqual(await readWatermark(redis, stream, 'g'), { watermark: { ms: 0, seq: 1 }, after: '0-0' }, 'nothing delivered')

  await redis.xadd(stream, '5-2', 'user', '2', 'content', '1', 'score', '2')
  await redis.xadd(stream, '6-0', 'user', '3', 'content', '1', 'score', '3')
  await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 3, 'STREAMS', stream, '>')
  await redis.xack(stream, 'g', '5-1', '6-0')
  assert.deepEqual(await readWatermark(redis, stream, 'g'), { watermark: { ms: 5, seq: 2 }, after: '5-1' }, 'the smallest pending')
  await redis.xack(stream, 'g', '5-2')
  assert.deepEqual(await readWatermark(redis, stream, 'g'), { watermark: { ms: 6, seq: 1 }, after: '6-0' }, 'all acknowledged')
})
