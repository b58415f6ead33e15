// VOTE_STREAM_SHARDS=4 end to end: votes from many users over many contents go through the API to four
// streams, two real consumers read all four, and PostgreSQL ends with every 202 (the newest per user and
// content) and a clean audit; a content's lock stays exact on its shard; a voter's limit is one limit.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, buildTestApp } from './helpers.js'
import {
  assertDbHolds, consumerWorld, deadLetters, key, seededRandom, startConsumer, toRecord, waitForDrained,
} from './consumer-helpers.js'
import { parseReceipt } from '../server/vote-receipt.js'

const SHARDS = 4

async function shardedApi(t: TestContext, users: number, contents: number, env: Record<string, string> = {}) {
  const world = await consumerWorld(t, users, contents)
  const app = await buildTestApp(t, { DATABASE_URL: world.url, REDIS_PREFIX: world.prefix, VOTE_STREAM_SHARDS: String(SHARDS), ...env })
  const tokens = new Map(world.users.map((id) => [id, app.issueAccessToken(id)]))
  const vote = (user: number, content: number, score: number) =>
    app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(tokens.get(user)!), payload: { content, score } })
  return { ...world, app, vote }
}

/** The receipts of two votes of one (user, content), hence of one stream: entry ids compare as numbers, ms then sequence. */
const isNewer = (a: string, b: string) => {
  const [am, as] = parseReceipt(a)!.entryId.split('-').map(BigInt) as [bigint, bigint]
  const [bm, bs] = parseReceipt(b)!.entryId.split('-').map(BigInt) as [bigint, bigint]
  return am > bm || (am === bm && as > bs)
}

test('with 4 shards, 2000 votes of 40 users on 60 contents through the API all reach PostgreSQL via 2 consumers; ' +
  'the audit is clean', async (t) => {
  const { url, prefix, db, redis, users, contentIds, app, vote } = await shardedApi(t, 40, 60, { VOTE_THRESHOLD_COUNT_LIMIT: '1000000' })
  for (let i = 0; i < 2; i++) startConsumer(t, url, prefix, { VOTE_STREAM_SHARDS: String(SHARDS), CONSUMER_BATCH_SIZE: '100' })

  const random = seededRandom(4)
  const newest = new Map<string, { id: string; score: number }>()
  for (let round = 0; round < 20; round++) {
    const asked = Array.from({ length: 100 }, () => ({
      user: users[random(users.length)]!, content: contentIds[random(contentIds.length)]!, score: random(6),
    }))
    const answers = await Promise.all(asked.map((v) => vote(v.user, v.content, v.score)))
    answers.forEach((res, i) => {
      assert.equal(res.statusCode, 202, res.body)
      const { user, content, score } = asked[i]!
      const id = res.json().id as string
      const seen = newest.get(key(user, content))
      if (!seen || isNewer(id, seen.id)) newest.set(key(user, content), { id, score })
    })
  }

  for (let shard = 0; shard < SHARDS; shard++) {
    const stream = app.keys.stream(shard)
    assert.ok(Number(toRecord(await redis.xinfo('STREAM', stream) as unknown[])['entries-added']) > 0, `shard ${shard} took votes`)
    await waitForDrained(redis, stream, 30_000)
  }
  await assertDbHolds(db, redis, app.keys, contentIds, new Map([...newest].map(([k, v]) => [k, v.score])))
  assert.deepEqual(await deadLetters(redis, app.keys), [], 'no vote was dead-lettered')
})

test('with 4 shards, votes cast together on contents of every shard get distinct receipts, each naming its own stream entry', async (t) => {
  const { users, contentIds, vote, redis, prefix, app } = await shardedApi(t, 5, 8, { VOTE_THRESHOLD_COUNT_LIMIT: '1000' })
  assert.deepEqual([...new Set(contentIds.map((id) => app.keys.shardOf(id)))].sort(), [0, 1, 2, 3], 'contents on every shard')
  const asked = contentIds.flatMap((content) => users.map((user) => ({ user, content, score: (user + content) % 6 })))
  const receipts: string[] = []
  // Each round's votes are decided in the same millisecond or two, one script call per shard: each shard's
  // stream starts that millisecond's ids at <ms>-0, so bare entry ids would repeat across the shards.
  for (let round = 0; round < 5; round++) {
    const answers = await Promise.all(asked.map((v) => vote(v.user, v.content, v.score)))
    for (const [i, res] of answers.entries()) {
      assert.equal(res.statusCode, 202, res.body)
      const receipt = res.json().id as string
      receipts.push(receipt)
      // What an operator does with a receipt: the stream is <REDIS_PREFIX>votes:{<tag>}, the entry its id.
      const { tag, entryId } = parseReceipt(receipt)!
      const [entry] = await redis.xrange(`${prefix}votes:{${tag}}`, entryId, entryId)
      const { user, content, score } = asked[i]!
      assert.deepEqual(entry?.[1], ['user', String(user), 'content', String(content), 'score', String(score)], receipt)
    }
  }
  t.diagnostic(`entry ids alone: ${new Set(receipts.map((r) => parseReceipt(r)!.entryId)).size} distinct of ${receipts.length}`)
  assert.equal(new Set(receipts).size, receipts.length, 'no receipt repeats')
})

test('with 4 shards a content\'s lock stays exact: 80 concurrent votes on each of 8 contents, ' +
  'exactly LIMIT accepted on each', async (t) => {
  const { users, contentIds, vote } = await shardedApi(t, 80, 8, { VOTE_THRESHOLD_COUNT_LIMIT: '5' })
  const asked = contentIds.flatMap((content) => users.map((user) => ({ user, content })))
  const answers = await Promise.all(asked.map((v) => vote(v.user, v.content, 3)))
  for (const content of contentIds) {
    const mine = answers.filter((_, i) => asked[i]!.content === content)
    assert.equal(mine.filter((r) => r.statusCode === 202).length, 5, `content ${content} (shard ${content % SHARDS})`)
    assert.ok(mine.filter((r) => r.statusCode !== 202).every((r) => r.statusCode === 429 && r.json().code === 'content_locked'))
  }
})

test('with 4 shards a voter meets RATE_LIMIT_PER_MINUTE once in all, not once per shard; each shard allows its share', async (t) => {
  const { users, contentIds, vote, app } = await shardedApi(t, 2, SHARDS,
    { RATE_LIMIT_PER_MINUTE: '8', VOTE_THRESHOLD_COUNT_LIMIT: '1000' })
  assert.deepEqual(contentIds.map((id) => app.keys.shardOf(id)).sort(), [0, 1, 2, 3], 'one content per shard')
  const [voter, other] = users as [number, number]
  const asked = Array.from({ length: 5 * SHARDS }, (_, i) => contentIds[i % SHARDS]!)
  const answers = await Promise.all(asked.map((content) => vote(voter, content, 4)))
  assert.equal(answers.filter((r) => r.statusCode === 202).length, 8, 'the limit, over every shard together')
  for (const content of contentIds) {
    assert.equal(answers.filter((r, i) => asked[i] === content && r.statusCode === 202).length, 2,
      `ceil(8 / 4) on content ${content}'s shard`)
  }
  const refused = answers.filter((r) => r.statusCode !== 202)
  assert.ok(refused.every((r) => r.statusCode === 429 && r.json().code === 'rate_limited' && Number(r.headers['retry-after']) > 0))
  assert.equal((await vote(other, contentIds[0]!, 1)).statusCode, 202, 'another voter has a budget of their own')
})

test('after VOTE_STREAM_SHARDS goes from 2 to 3, votes on contents that moved to another shard are still accepted', async (t) => {
  const world = await consumerWorld(t, 1, 12)
  const tokenFor = (app: Awaited<ReturnType<typeof buildTestApp>>) => app.issueAccessToken(world.users[0]!)
  for (const shards of ['2', '3']) {
    const app = await buildTestApp(t, {
      DATABASE_URL: world.url, REDIS_PREFIX: world.prefix, VOTE_STREAM_SHARDS: shards, VOTE_THRESHOLD_COUNT_LIMIT: '100',
    })
    const token = tokenFor(app)
    for (const content of world.contentIds) {
      const res = await app.inject({ method: 'POST', url: '/api/vote/', headers: bearer(token), payload: { content, score: 2 } })
      assert.equal(res.statusCode, 202, `content ${content} with ${shards} shards: ${res.body}`)
    }
    await app.close()
  }
})
