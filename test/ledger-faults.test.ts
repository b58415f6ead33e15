// The audit's whole-path ledger through the faults that make a batch's statement run twice: a COMMIT whose
// reply is lost (the consumer retries it), a consumer killed between its COMMIT and its XACK (another takes the
// batch over), a consumer killed while its statement is still running (it commits after the takeover began),
// and one frozen before its statement reached PostgreSQL (it commits after the taker acknowledged). Each ends
// with `npm run audit`'s figures: every entry the stream took recorded exactly once.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { audit, formatReport } from '../audit/audit.js'
import { withTimeout } from '../shared/timeout.js'
import { uniqueName, waitFor } from './helpers.js'
import { pgProxy } from './pg-proxy.js'
import { exitCodeOf, startNode, stopProcess, type Started } from './processes.js'
import {
  addVotes, assertDbHolds, consumerWorld, GROUP, lockWaiters, newestVotes, pendingOf, randomVotes, seededRandom, startConsumer,
  victimMidBatch, waitForDrained, type Added,
} from './consumer-helpers.js'

type World = Awaited<ReturnType<typeof consumerWorld>>

/** The statement that records a batch in the ledger (apply's, or the ledger's alone when every vote is dead). */
const BATCH_STATEMENT = /insert into stream_entries/

/** `step` of the test, or a failure quoting what `consumer` said if it has not come within 20 s. */
async function within<T>(step: Promise<T>, what: string, consumer: Started): Promise<T> {
  try {
    return await withTimeout(step, 20_000, what)
  } catch (err) {
    throw new Error(`${(err as Error).message}; the consumer said:\n${consumer.output()}`)
  }
}

/** Drained, the database holds the newest votes, and the audit finds the stream's every entry recorded once. */
async function assertEveryEntryOnce(world: World, added: readonly Added[]): Promise<void> {
  const { db, redis, keys, stream, contentIds } = world
  await waitForDrained(redis, stream, 30_000)
  const report = await audit(db, redis, keys, GROUP)
  assert.deepEqual(report.ledger.map((l) => ({ added: l.added, recorded: l.recorded, unaccounted: l.unaccounted })),
    [{ added: added.length, recorded: added.length, unaccounted: 0 }], formatReport(report))
  assert.match(formatReport(report), /every entry accounted for/)
  await assertDbHolds(db, redis, keys, contentIds, newestVotes(added))
}

test('a batch whose COMMIT reply is lost is retried, and the audit counts each of its entries once', async (t) => {
  const world = await consumerWorld(t, 10, 5)
  const { url, prefix, stream, redis, users, contentIds } = world
  const proxy = await pgProxy(t, url)
  const lost = proxy.loseNextReply(BATCH_STATEMENT)
  const consumer = startConsumer(t, proxy.url, prefix)
  const added = await addVotes(redis, stream, randomVotes(seededRandom(41), users, contentIds, 300))
  await within(lost, 'the batch statement whose reply is lost', consumer)
  await assertEveryEntryOnce(world, added)
  assert.match(consumer.output(), /apply failed; retrying/, 'the consumer saw its connection drop and ran the statement again')
  // As the operator sees it.
  const cli = startNode(t, 'cli/audit.ts', { env: { ...process.env, DATABASE_URL: url, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn' } })
  assert.equal(await exitCodeOf(cli), 0, cli.output())
  assert.match(cli.output(), /invariant: OK[\s\S]*took 300; recorded 300, pending 0, undelivered 0: every entry accounted for/)
})

/** A consumer whose first batch commits and which is SIGKILLed before it hears so: its batch stays pending on it. */
async function killedAfterCommit(t: TestContext, world: World, env: Record<string, string> = {}) {
  const { url, prefix, stream, redis, users, contentIds } = world
  const proxy = await pgProxy(t, url)
  const victim = startConsumer(t, proxy.url, prefix, env)
  const killed = proxy.loseNextReply(BATCH_STATEMENT, () => victim.child.kill('SIGKILL'))
  const added = await addVotes(redis, stream, randomVotes(seededRandom(42), users, contentIds, 300))
  await within(killed, 'the batch statement after which the victim dies', victim)
  assert.equal(await exitCodeOf(victim), null)
  assert.ok((await pendingOf(redis, stream, victim.name)).length > 0, 'committed, never acknowledged')
  return added
}

test('a consumer SIGKILLed between its COMMIT and its XACK: the batch another takes over is counted once', async (t) => {
  const world = await consumerWorld(t, 10, 5)
  const added = await killedAfterCommit(t, world)
  startConsumer(t, world.url, world.prefix)
  await assertEveryEntryOnce(world, added)
})

test('a consumer SIGKILLed between its COMMIT and its XACK and started again under its name: its batch is counted once', async (t) => {
  const world = await consumerWorld(t, 10, 5)
  // An idle time no test waits out: only taking back its own entries applies them.
  const env = { CONSUMER_NAME: uniqueName('slot'), CONSUMER_CLAIM_IDLE_MS: '600000' }
  const added = await killedAfterCommit(t, world, env)
  startConsumer(t, world.url, world.prefix, env)
  await assertEveryEntryOnce(world, added)
})

for (const [who, env] of [['another consumer', {}], ['its successor under its name', { CONSUMER_NAME: uniqueName('slot') }]] as const) {
  test(`a consumer SIGKILLed while its statement waits on a lock, the batch taken by ${who} meanwhile: ` +
    'both commit, each entry is counted once', async (t) => {
    const world = await consumerWorld(t, 10, 3)
    const { added, victim, release } = await victimMidBatch(t, world, 300, env)
    assert.equal(await stopProcess(victim, 'SIGKILL'), null)
    // The dead consumer's statement is still in PostgreSQL, waiting; the taker's waits behind it, so the taker
    // cannot know, when it starts, that the batch is about to be committed by someone else.
    startConsumer(t, world.url, world.prefix, env)
    await waitFor(async () => (await lockWaiters(world.db)) >= 2,
      { timeoutMs: 20_000, what: 'the taker\'s statement to wait beside the dead one\'s' })
    await release()
    await assertEveryEntryOnce(world, added)
  })
}

test('a consumer frozen before its statement reached PostgreSQL, which commits after another applied and acknowledged the batch, ' +
  'adds nothing to the count', async (t) => {
  const world = await consumerWorld(t, 10, 5)
  const { url, prefix, stream, db, redis, users, contentIds } = world
  const proxy = await pgProxy(t, url)
  const late = proxy.holdNext(BATCH_STATEMENT)
  const frozen = startConsumer(t, proxy.url, prefix)
  const added = await addVotes(redis, stream, randomVotes(seededRandom(43), users, contentIds, 300))
  await within(late.held, 'the batch statement held back', frozen)
  // Frozen (a pause of the VM, a stop-the-world): it renews nothing, so its entries are taken over.
  frozen.child.kill('SIGSTOP')
  startConsumer(t, url, prefix)
  await waitForDrained(redis, stream, 30_000)
  // The taker's trims raise the stream's horizon past the batch and delete its rows: the late statement finds none.
  await waitFor(async () => {
    const [row] = await db.execute<{ rows: number; raised: boolean }>(sql`
      select (select count(*)::int from recorded_entries where stream = ${stream}) as rows,
        exists (select 1 from stream_horizons where stream = ${stream} and recorded_below > 0) as raised`)
    return row!.rows === 0 && row!.raised
  }, { timeoutMs: 30_000, what: 'the batch\'s rows to go below the horizon' })
  frozen.child.kill('SIGCONT')
  late.release()
  await within(late.answered, 'the late statement\'s reply', frozen)
  await assertEveryEntryOnce(world, added)
  assert.equal(frozen.child.exitCode, null, 'the late consumer carried on')
})
