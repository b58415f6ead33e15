// The ledger's statements against a real PostgreSQL: an entry is counted by the one statement that keeps its
// row, also when two run at once; below the stream's horizon nothing is counted; a horizon's rows go only once
// no snapshot from before it is left; what consumers from before migration 0011 recorded is still found.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import type { Db } from '../shared/db/client.js'
import { audit, formatReport } from '../audit/audit.js'
import { emptyDatabase, uniqueName, waitFor } from '../test/helpers.js'
import { GROUP, addVotes, isolatedPrefix, lockWaiters, openDb, openRedis } from '../test/consumer-helpers.js'
import { redisKeys } from '../shared/redis/keys.js'
import { entryVersion } from '../shared/entry-version.js'
import type { StreamEntry } from './decode.js'
import { advanceHorizon, ledgerFor, moveRecordedBatches, recordOnly } from './ledger.js'

const STREAM = 'tally:test:votes:{0}'

/** A batch of `ids` (no fields: the ledger reads ids only). */
const batchOf = (...ids: string[]) => ({ stream: STREAM, entries: ids.map((id): StreamEntry => [id, []]) })
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `1000-${from + i}`)

async function ledgerState(db: Db) {
  const [row] = await db.execute<{ recorded: number; rows: number }>(sql`
    select coalesce((select sum(recorded) from stream_entries where stream = ${STREAM}), 0)::int as recorded,
      (select count(*) from recorded_entries where stream = ${STREAM})::int as rows`)
  return row!
}

/**
 * A transaction on a connection of its own, open (its snapshot with it) until `end` commits or rolls it back.
 * Resolves once `first` has run in it; `tx` runs more statements in it meanwhile.
 */
async function openTransaction(
  t: TestContext, db: Db, isolationLevel: 'read committed' | 'repeatable read', first: (tx: Db) => Promise<void>
) {
  let end!: (commit: boolean) => void
  const ended = new Promise<boolean>((resolve) => { end = resolve })
  let opened!: (tx: Db) => void
  const isOpen = new Promise<Db>((resolve) => { opened = resolve })
  const done = db.transaction(async (tx) => {
    await first(tx as unknown as Db)
    opened(tx as unknown as Db)
    if (!(await ended)) tx.rollback()
  }, { isolationLevel }).catch((err: unknown) => { if ((err as Error).message !== 'Rollback') throw err })
  t.after(() => { end(false); return done })
  const tx = await Promise.race([isOpen, done.then(() => { throw new Error('the transaction ended early') })])
  return { tx, end: (commit: boolean) => { end(commit); return done } }
}

test('an entry is counted by the statement that keeps its row: ' +
  'a second statement over the same entries counts only the new ones', async (t) => {
  const db = openDb(t, await emptyDatabase(t))
  assert.equal(await recordOnly(db, ledgerFor(batchOf(...ids(0, 10)), 'c1')), 10)
  assert.equal(await recordOnly(db, ledgerFor(batchOf(...ids(5, 15)), 'c2', 1)), 5, 'a takeover with five more')
  assert.equal(await recordOnly(db, ledgerFor(batchOf(...ids(0, 15)), 'c1')), 0, 'a retry after a lost COMMIT reply')
  assert.deepEqual(await ledgerState(db), { recorded: 15, rows: 15 })
  // An id without a version (decode's bad_entry_id) has no row: counted by each statement that records it.
  assert.equal(await recordOnly(db, ledgerFor(batchOf('99999999999999-0', ...ids(0, 2)), 'c1')), 1)
})

test('a statement over entries another holds uncommitted waits for it: counts none once it commits, all once it rolls back', async (t) => {
  const db = openDb(t, await emptyDatabase(t))
  for (const commit of [true, false]) {
    const entries = commit ? ids(0, 20) : ids(20, 40)
    const first = await openTransaction(t, db, 'read committed', async (tx) => {
      assert.equal(await recordOnly(tx, ledgerFor(batchOf(...entries), 'c1')), 20)
    })
    const second = recordOnly(db, ledgerFor(batchOf(...entries), 'c2'))
    await waitFor(async () => (await lockWaiters(db)) > 0, { what: 'the second statement to wait for the first' })
    await first.end(commit)
    assert.equal(await second, commit ? 0 : 20)
  }
  assert.deepEqual(await ledgerState(db), { recorded: 40, rows: 40 })
})

test('rows below a raised horizon go only once no snapshot from before the raise is left; below it nothing is counted', async (t) => {
  const db = openDb(t, await emptyDatabase(t))
  const batch = ledgerFor(batchOf(...ids(0, 10)), 'c1')
  assert.equal(await recordOnly(db, batch), 10)
  // A statement that began before the raise (here: a transaction whose snapshot is older, held open).
  const old = await openTransaction(t, db, 'repeatable read', async (tx) => { await tx.execute(sql`select 1 from stream_horizons`) })
  const raised = await advanceHorizon(db, STREAM, '1000-10')
  assert.equal(raised?.below, entryVersion('1000-10'))
  const still = await advanceHorizon(db, STREAM, '1000-10', raised)
  assert.deepEqual(still, raised, 'not deleted while a snapshot from before the raise is open')
  assert.equal((await ledgerState(db)).rows, 10)
  // Its snapshot shows no horizon: it relies on the rows, which the raise left because of it.
  assert.equal(await recordOnly(old.tx, batch), 0, 'the old snapshot finds every row')
  await old.end(true)

  const next = await advanceHorizon(db, STREAM, '1000-12', still)
  assert.equal(next?.below, entryVersion('1000-12'), 'the next raise is now the pending one')
  assert.deepEqual(await ledgerState(db), { recorded: 10, rows: 0 })
  assert.equal(await recordOnly(db, batch), 0, 'below the horizon: recorded already, row or no row')
  assert.equal(await recordOnly(db, ledgerFor(batchOf(...ids(5, 15)), 'c1')), 3, 'only 1000-12 … 1000-14 are above it')
})

test('upgrading: a batch recorded by a consumer from before migration 0011 and left pending is counted once, ' +
  'by the audit and by its takeover', async (t) => {
  const db = openDb(t, await emptyDatabase(t))
  const redis = openRedis(t)
  const keys = redisKeys(isolatedPrefix())
  const stream = keys.stream(0)
  const added = await addVotes(redis, stream, Array.from({ length: 30 }, (_, i) => ({ user: 1, content: 1, score: i % 6 })))
  await redis.xgroup('CREATE', stream, GROUP, '0')
  await redis.xreadgroup('GROUP', GROUP, 'old', 'COUNT', 100, 'STREAMS', stream, '>')
  // What the old consumer's statement wrote before it died, its XACK not sent.
  await db.execute(sql`insert into stream_entries (stream, consumer, recorded) values (${stream}, 'old', 30)`)
  await db.execute(sql`insert into recorded_batches (stream, consumer, entries)
    values (${stream}, 'old', ${`{${added.map((a) => entryVersion(a.id)).join(',')}}`}::int8[])`)
  const check = async () => {
    const report = await audit(db, redis, keys, GROUP)
    assert.deepEqual(report.ledger.map((l) => [l.added, l.recorded, l.pending, l.recordedPending, l.unaccounted]), [[30, 30, 30, 30, 0]],
      formatReport(report))
  }
  await check()
  await moveRecordedBatches(db)
  await check()
  const [{ n }] = await db.execute<{ n: number }>(sql`select count(*)::int as n from recorded_batches`) as unknown as [{ n: number }]
  assert.equal(n, 0, 'moved')
  const taken = { stream, entries: added.map((a): StreamEntry => [a.id, []]) }
  assert.equal(await recordOnly(db, ledgerFor(taken, uniqueName('new'))), 0, 'the takeover counts nothing again')
})
