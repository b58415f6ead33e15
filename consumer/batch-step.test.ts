// The step alone, on a real stream and PostgreSQL: what it applies, dead-letters, acks and records for one batch,
// as its report says and as Redis and the database then hold it; and its pure rules, table by table.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { pino } from 'pino'
import { uniqueName } from '../test/helpers.js'
import { addVotes, consumerWorld, deadLetters, GROUP, pendingOf } from '../test/consumer-helpers.js'
import { handOver, idsToAck, partitionByDeliveries, type StepDeps } from './batch-step.js'
import type { Rejected } from './dead-letters.js'
import type { StreamEntry } from './decode.js'
import { createConsumerMetrics } from './metrics.js'
import { ensureGroup, type Batch } from './stream.js'

const S = 'votes:{0}'
const entry = (id: string): StreamEntry => [id, ['user', '1', 'content', '2', 'score', '3']]

test('entries delivered more than maxDeliveries times are given up on as max_deliveries, with their fields; the rest are applied', () => {
  const entries = ['1-0', '2-0', '3-0', '4-0'].map(entry)
  const deliveries = new Map([['1-0', 2], ['2-0', 3], ['3-0', 4]]) // 4-0: no count read, taken as 1
  const { entries: kept, tooOften } = partitionByDeliveries({ stream: S, entries, deliveries }, 3)
  assert.deepEqual(kept.map(([id]) => id), ['1-0', '2-0', '4-0'], 'at the limit is still applied')
  assert.deepEqual(tooOften, [{ stream: S, entryId: '3-0', reason: 'max_deliveries', fields: entries[2]![1] }])
})

test('a new read (no delivery counts) is applied whole, whatever the limit', () => {
  const entries = ['1-0', '2-0'].map(entry)
  const { entries: kept, tooOften } = partitionByDeliveries({ stream: S, entries }, 1)
  assert.deepEqual(kept, entries)
  assert.deepEqual(tooOften, [])
})

test('the step acks every entry but the dead-lettered ones, in stream order', () => {
  const entries = ['1-0', '2-0', '3-0', '4-0'].map(entry)
  const dead: Rejected[] = [
    { stream: S, entryId: '3-0', reason: 'bad_score', fields: [] }, { stream: S, entryId: '1-0', reason: 'unknown_user', fields: [] },
  ]
  assert.deepEqual(idsToAck(entries, dead), ['2-0', '4-0'])
  assert.deepEqual(idsToAck(entries, []), ['1-0', '2-0', '3-0', '4-0'])
})

type World = Awaited<ReturnType<typeof consumerWorld>>

/** What the step needs, on the world's stream and database, for a consumer of its own. */
function stepDeps(t: TestContext, world: World): StepDeps {
  const controller = new AbortController()
  t.after(() => controller.abort())
  return {
    db: world.db, redis: world.redis, readChangesChannel: world.keys.readChanges, signal: controller.signal, log: pino({ level: 'silent' }),
    metrics: createConsumerMetrics({ redis: world.redis, streams: [world.stream], group: GROUP, deadLetters: world.keys.deadLetters }),
    settings: {
      group: GROUP, consumer: uniqueName('step'), batchSize: 100, blockMs: 50, lingerMs: 0, claimIdleMs: 1000, maxDeliveries: 5,
      deadLetters: world.keys.deadLetters, deadLetterMaxLen: 1000,
    },
  }
}

/** Everything new on the world's stream, read by `consumer` as one batch. */
async function readBatch(world: World, consumer: string): Promise<Batch> {
  const read = await world.redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 100, 'STREAMS', world.stream, '>') as
    [string, StreamEntry[]][]
  return { stream: world.stream, entries: read[0]![1] }
}

const ledgerRows = async (world: World) => [...await world.db.execute<{ consumer: string; recorded: number }>(sql`
  select consumer, recorded::int as recorded from stream_entries where stream = ${world.stream} order by consumer`)]

test('the step applies a batch, dead-letters its poison, acks every entry and says so in its report; ' +
  'run again, it changes nothing', async (t) => {
  const world = await consumerWorld(t, 2, 1)
  const { redis, stream, keys, users: [ann, ben], contentIds: [content] } = world
  const deps = stepDeps(t, world)
  const { consumer } = deps.settings
  await ensureGroup(redis, stream, GROUP)
  await addVotes(redis, stream, [
    { user: ann!, content: content!, score: 5 }, { user: ann!, content: content!, score: 2 }, { user: ben!, content: content!, score: 4 },
  ])
  const badScore = await redis.xadd(stream, '*', 'user', String(ann), 'content', String(content), 'score', '9')
  const unknownContent = await redis.xadd(stream, '*', 'user', String(ben), 'content', '2000000000', 'score', '3')
  const batch = await readBatch(world, consumer)

  const report = await handOver(deps, batch).run(1)
  assert.deepEqual({ ...report, dead: report.dead.map((d) => [d.entryId, d.reason]) }, {
    stream, entries: 5, applied: 2, stale: 0, superseded: 1, dead: [[badScore, 'bad_score'], [unknownContent, 'unknown_content']],
    acked: 3, ledgerCounted: 5,
  })
  assert.deepEqual(await pendingOf(redis, stream, consumer), [], 'every entry acked: the applied ones and the dead-lettered ones')
  assert.deepEqual((await deadLetters(redis, keys)).map((d) => [d.entry, d.reason]),
    [[badScore, 'bad_score'], [unknownContent, 'unknown_content']])
  const [row] = await world.db.execute<{ vote_count: number; vote_sum: string }>(
    sql`select vote_count, vote_sum from contents where id = ${content!}`)
  assert.deepEqual([row!.vote_count, Number(row!.vote_sum)], [2, 2 + 4], 'Ann\'s newer vote and Ben\'s')
  assert.deepEqual(await ledgerRows(world), [{ consumer: `${consumer}#1`, recorded: 5 }], 'counted on lane 1\'s own row')

  const replay = await handOver(deps, batch).run(0)
  assert.deepEqual([replay.applied, replay.stale, replay.superseded, replay.ledgerCounted], [0, 2, 1, 0],
    'a replay writes nothing and counts nothing')
  assert.deepEqual(await ledgerRows(world), [{ consumer, recorded: 0 }, { consumer: `${consumer}#1`, recorded: 5 }])
})

test('a batch of which no vote reaches a COMMIT is recorded in the ledger on its own, and acked through its dead letters', async (t) => {
  const world = await consumerWorld(t, 1, 1)
  const { redis, stream, users: [ann] } = world
  const deps = stepDeps(t, world)
  await ensureGroup(redis, stream, GROUP)
  for (const score of ['6', '7']) await redis.xadd(stream, '*', 'user', String(ann), 'content', '2000000000', 'score', score)
  const report = await handOver(deps, await readBatch(world, deps.settings.consumer)).run(0)
  assert.deepEqual([report.applied, report.dead.map((d) => d.reason), report.acked, report.ledgerCounted],
    [0, ['bad_score', 'bad_score'], 0, 2])
  assert.deepEqual(await pendingOf(redis, stream, deps.settings.consumer), [])
  assert.deepEqual(await ledgerRows(world), [{ consumer: deps.settings.consumer, recorded: 2 }])
})
