// The pendingVotes plugin on a real Redis: the route's own record shows at once, votes of other processes
// arrive through the tail, and closing the app stops the tail.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import { DEFAULT_REDIS_URL } from '../../shared/config.js'
import { entryVersion } from '../../shared/entry-version.js'
import redisPlugin from '../plugins/redis.js'
import { isolatedPrefix } from '../../test/consumer-helpers.js'
import { waitFor } from '../../test/helpers.js'
import pendingVotesPlugin from './plugin.js'

const target = { url: process.env.REDIS_URL ?? DEFAULT_REDIS_URL }

test('a recorded vote shows at once, another process\'s through the stream, and settles once applied', async (t) => {
  const app = Fastify()
  t.after(() => app.close())
  await app.register(redisPlugin, { target, prefix: isolatedPrefix(), shards: 2, commandTimeoutMs: 1000, autoPipelining: false })
  await app.register(pendingVotesPlugin, {
    target, connectionName: `tally-test:pending-plugin:${process.pid}`, group: 'g', maxRecords: 100, sweepMs: 50,
  })
  await app.ready()
  const { pendingVotes, redis, keys } = app

  assert.equal(pendingVotes.hasAny(7), false)
  pendingVotes.record(7, 3, 4, '1000-1')
  const { score, version, shard, entryId } = pendingVotes.get(7, 3)!
  assert.deepEqual({ score, version, shard, entryId }, { score: 4, version: entryVersion('1000-1'), shard: 1, entryId: '1000-1' })
  assert.equal(pendingVotes.hasAny(7), true)
  assert.equal(pendingVotes.settle(7, 3, entryVersion('1000-1')), undefined)
  assert.equal(pendingVotes.hasAny(7), false)

  const other = await redis.xadd(keys.stream(keys.shardOf(4)), '*', 'user', '8', 'content', '4', 'score', '-') as string
  const seen = await waitFor(() => pendingVotes.get(8, 4), { what: 'the vote from the stream' })
  assert.equal(seen.entryId, other)
  assert.equal(seen.score, null)
  assert.equal(pendingVotes.size, 1)
})
