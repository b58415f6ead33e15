import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { closeRedis, createRedis } from './client.js'
import { deleteKeysWithPrefix } from './delete-prefix.js'
import { redisKeys } from './keys.js'
import { createVoteCaller, parseVoteReplies, parseVoteReply, VOTE_OUTCOMES, voteRequestsPerShard, type VoteOutcome } from './vote-script.js'
import { uniqueName } from '../../test/helpers.js'

test('every reply of vote.lua maps to its outcome, named by its error code, with Retry-After rounded up to whole seconds', () => {
  assert.deepEqual(parseVoteReply(1, '17-0'), { kind: 'accepted', entryId: '17-0' })
  assert.deepEqual(parseVoteReply(0, 119_001), { kind: 'content_locked', retryAfterSeconds: 120 })
  assert.deepEqual(parseVoteReply(0, 1), { kind: 'content_locked', retryAfterSeconds: 1 })
  assert.deepEqual(parseVoteReply(-1, 0), { kind: 'content_not_found' })
  assert.deepEqual(parseVoteReply(-2, 0), { kind: 'queue_unavailable', reason: 'index_incomplete' })
  assert.deepEqual(parseVoteReply(-3, 0), { kind: 'queue_unavailable', reason: 'deadline_passed' })
  assert.deepEqual(parseVoteReply(-4, 30_500), { kind: 'rate_limited', retryAfterSeconds: 31 })
  assert.deepEqual(parseVoteReply(-5, 0), { kind: 'queue_unavailable', reason: 'not_decided' })
})

test('the outcomes are the labels of tally_votes_total{outcome}, as they always were', () => {
  assert.deepEqual(VOTE_OUTCOMES, ['accepted', 'content_locked', 'content_not_found', 'queue_unavailable', 'rate_limited'])
})

test('a reply vote.lua never sends is an error, not a guess', () => {
  for (const [code, value] of [[1, 5], [0, 'x'], [7, 0], [-4, 'x'], [undefined, undefined]]) {
    assert.throws(() => parseVoteReply(code, value), /unexpected reply/)
  }
})

test('a batch reply is two values per vote, in the order sent; a short one is an error', () => {
  assert.deepEqual(parseVoteReplies([1, '5-0', 0, 3000, -1, 0], 3), [
    { kind: 'accepted', entryId: '5-0' }, { kind: 'content_locked', retryAfterSeconds: 3 }, { kind: 'content_not_found' },
  ])
  assert.throws(() => parseVoteReplies([1, '5-0'], 2), /2 votes sent, 2 values back/)
})

// The caller against a real Redis: what a batch decides must be what the same votes one by one decide.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const RULES = { limit: 3, windowSeconds: 60, lockSeconds: 120, requestsPerMinute: 1000 }

async function votingOn(t: TestContext, shards: number, contentIds: number[], rules = RULES) {
  const redis = createRedis(redisUrl)
  const prefix = `${process.env.REDIS_PREFIX ?? 'tally:t:'}${uniqueName('batch')}:`
  t.after(async () => {
    await deleteKeysWithPrefix(redis, prefix)
    await closeRedis(redis)
  })
  const keys = redisKeys(prefix, shards)
  for (let shard = 0; shard < shards; shard++) await redis.setbit(keys.contentExists(shard), 0, 1)
  for (const id of contentIds) await redis.setbit(keys.contentExists(keys.shardOf(id)), id, 1)
  return { redis, keys, cast: createVoteCaller(redis, keys, rules) }
}

test('votes asked for in one turn are decided in order, each on its own: LIMIT accepted per content, then locked', async (t) => {
  const { redis, keys, cast } = await votingOn(t, 2, [10, 11, 12])
  const far = Date.now() + 60_000
  // 150 votes in one turn: more than one call's worth, over two shards, and one content that does not exist.
  const asked = Array.from({ length: 150 }, (_, i) => ({ user: i + 1, content: [10, 11, 12, 14][i % 4]!, score: i % 6 }))
  const outcomes = await Promise.all(asked.map((v) => cast(v.user, v.content, v.score, far)))

  for (const content of [10, 11, 12]) {
    const kinds = outcomes.filter((_, i) => asked[i]!.content === content).map((o) => o.kind)
    assert.deepEqual(kinds.slice(0, 3), ['accepted', 'accepted', 'accepted'], `content ${content}`)
    assert.ok(kinds.slice(3).every((k) => k === 'content_locked'), `content ${content}: every vote after the limit is locked`)
  }
  assert.ok(outcomes.filter((_, i) => asked[i]!.content === 14).every((o) => o.kind === 'content_not_found'))

  // On each shard's stream, exactly the accepted votes, with their own fields, in the order asked.
  for (let shard = 0; shard < 2; shard++) {
    const entries = await redis.xrange(keys.stream(shard), '-', '+')
    const expected = asked.filter((v, i) => outcomes[i]!.kind === 'accepted' && keys.shardOf(v.content) === shard)
    const fieldsOf = (v: (typeof asked)[number]) => ['user', String(v.user), 'content', String(v.content), 'score', String(v.score)]
    assert.deepEqual(entries.map(([, f]) => f), expected.map(fieldsOf))
    const ids = outcomes.filter((o, i) => o.kind === 'accepted' && keys.shardOf(asked[i]!.content) === shard)
      .map((o) => (o as { entryId: string }).entryId)
    assert.deepEqual(entries.map(([id]) => id), ids)
  }
})

test('in one batch, a vote past its deadline is refused and the others are not', async (t) => {
  const { cast } = await votingOn(t, 1, [5])
  const [late, onTime] = await Promise.all([cast(1, 5, 4, Date.now() - 60_000), cast(2, 5, 3, Date.now() + 60_000)])
  assert.deepEqual(late, { kind: 'queue_unavailable', reason: 'deadline_passed' })
  assert.equal(onTime.kind, 'accepted')
})

test('a vote that opens a window and is then refused by the XADD leaves no window behind: counted iff in the stream', async (t) => {
  const { redis, keys, cast } = await votingOn(t, 1, [5, 6])
  const far = Date.now() + 60_000
  assert.equal((await cast(1, 6, 2, far)).kind, 'accepted', 'content 6 has a window open')
  // A stream key of the wrong type makes every XADD fail, after the window of content 5 would have opened.
  const stream = keys.stream(0)
  const entries = await redis.xrange(stream, '-', '+')
  await redis.del(stream)
  await redis.set(stream, 'not a stream')
  const [opening, counting] = await Promise.all([cast(2, 5, 4, far), cast(3, 6, 1, far)])
  const notDecided: VoteOutcome = { kind: 'queue_unavailable', reason: 'not_decided' }
  assert.deepEqual([opening, counting], [notDecided, notDecided])
  assert.equal(await redis.get(keys.window(5)), null, 'the window the refused vote opened is gone again')
  assert.equal(await redis.get(keys.window(6)), '1', 'the open window counts only the vote in the stream')
  assert.equal(entries.length, 1)
  // With the stream back, the next vote on content 5 opens its window as the first.
  await redis.del(stream)
  assert.equal((await cast(4, 5, 3, far)).kind, 'accepted')
  assert.equal(await redis.get(keys.window(5)), '1')
})

test('when the call fails, every vote of its batch fails with it (each caller answers 503)', async (t) => {
  const { redis, keys } = await votingOn(t, 1, [5])
  const offline = createRedis(redisUrl, { offlineQueue: false })
  offline.disconnect()
  const cast = createVoteCaller(offline, keys, RULES)
  const results = await Promise.allSettled([cast(1, 5, 1, Date.now() + 60_000), cast(2, 5, 2, Date.now() + 60_000)])
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
  assert.equal(await redis.exists(keys.stream(0)), 0, 'nothing reached the stream')
})

test('a voter\'s request limit is split over the shards: ceil(limit / shards) each, the total never above limit + shards', () => {
  assert.equal(voteRequestsPerShard(3000, 1), 3000)
  assert.equal(voteRequestsPerShard(3000, 4), 750)
  assert.equal(voteRequestsPerShard(10, 4), 3)
  assert.equal(voteRequestsPerShard(3, 6), 1)
  for (const [limit, shards] of [[1, 1], [10, 4], [3000, 6], [7, 1024]] as const) {
    assert.ok(voteRequestsPerShard(limit, shards) * shards < limit + shards, `${limit} over ${shards} shards`)
  }
})

test('with 4 shards a voter gets their request limit once, not once per shard', async (t) => {
  // One content per shard (ids 20..23 are shards 0..3); a window limit no voter reaches.
  const { cast } = await votingOn(t, 4, [20, 21, 22, 23], { ...RULES, limit: 1000, requestsPerMinute: 8 })
  const far = Date.now() + 60_000
  const asked = Array.from({ length: 20 }, (_, i) => 20 + (i % 4))
  const outcomes = await Promise.all(asked.map((content) => cast(7, content, 3, far)))
  assert.equal(outcomes.filter((o) => o.kind === 'accepted').length, 8, 'RATE_LIMIT_PER_MINUTE votes in all')
  for (const content of [20, 21, 22, 23]) {
    const kinds = outcomes.filter((_, i) => asked[i] === content).map((o) => o.kind)
    assert.deepEqual(kinds, ['accepted', 'accepted', 'rate_limited', 'rate_limited', 'rate_limited'], `content ${content}`)
  }
  // Another voter has their own budget.
  assert.equal((await cast(8, 20, 1, far)).kind, 'accepted')
})
