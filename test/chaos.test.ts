// npm run test:faults: the chaos suite. Each test runs the API and consumers as processes on a PostgreSQL and
// a Redis (AOF) of its own, votes from 200 users over 200 contents through HTTP, injects one fault while the
// votes come, heals it, and requires every 202 in PostgreSQL, nothing counted twice, `npm run audit` clean and
// no process left. The last test proves the checks can fail: entries deleted on purpose are caught.
// A master failover of a Redis Cluster is in test/redis-cluster-system.test.ts (npm run test:cluster).
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { chaosWorld, rows, TABLE_HEAD, tableRow } from './chaos-harness.js'
import { stopProcess } from './processes.js'

// The table docs/guarantees.md shows, as this run measured it.
after(() => console.log(`\n${TABLE_HEAD}\n${rows.map(tableRow).join('\n')}\n`))

const VOTES_BEFORE = 1500
const VOTES_AFTER = 1500

test('consumers SIGKILLed six times while votes come, each replaced (half under the same name): every 202 applied once', async (t) => {
  const world = await chaosWorld(t)
  world.startVoting()
  await world.votesPass(VOTES_BEFORE)
  for (let kill = 0; kill < 6; kill++) {
    const slot = kill % world.consumers.length
    assert.equal(await stopProcess(world.consumers[slot]!, 'SIGKILL'), null)
    // Even kills: npm start's way, the same name (it takes back its entries at once); odd: a new name (the others claim them).
    world.consumers[slot] = world.startConsumer(kill % 2 === 0 ? `chaos-${slot + 1}` : `chaos-${slot + 1}-${kill}`)
    await world.votesPass(400)
  }
  const healedAt = Date.now()
  await world.votesPass(VOTES_AFTER)
  await world.stopVoting()
  await world.assertSurvived(t, 'consumer SIGKILL ×6', healedAt)
})

test('PostgreSQL stopped for 3 s while votes come: votes are still taken, and every 202 is applied once it is back', async (t) => {
  const world = await chaosWorld(t)
  world.startVoting()
  await world.votesPass(VOTES_BEFORE)
  await world.pg.stop()
  const during = world.answers.length
  await new Promise((resolve) => setTimeout(resolve, 3000))
  assert.ok(world.answers.slice(during).some((a) => a.status === 202), 'votes were taken while PostgreSQL was away')
  await world.pg.start()
  const healedAt = Date.now()
  await world.votesPass(VOTES_AFTER)
  await world.stopVoting()
  await world.assertSurvived(t, 'PostgreSQL down 3 s', healedAt)
})

test('Redis SIGKILLed and restarted from its AOF while votes come: nothing it acknowledged is lost', async (t) => {
  const world = await chaosWorld(t)
  world.startVoting()
  await world.votesPass(VOTES_BEFORE)
  await world.redisServer.stop()
  await world.votesPass(200)   // refused meanwhile: 503
  await world.redisServer.start()
  const healedAt = Date.now()
  await world.votesPass(VOTES_AFTER)
  await world.stopVoting()
  const row = await world.assertSurvived(t, 'Redis SIGKILL, AOF restart', healedAt)
  assert.match(row.refused, /503/, 'votes were refused, not taken, while Redis was down')
})

test('the API SIGKILLed while votes come and started again: every 202 it gave is applied, ' +
  'and nothing else but what got no answer', async (t) => {
  const world = await chaosWorld(t)
  world.startVoting()
  await world.votesPass(VOTES_BEFORE)
  assert.equal(await stopProcess(world.api.current, 'SIGKILL'), null)
  world.api.current = await world.startApi()
  const healedAt = Date.now()
  await world.votesPass(VOTES_AFTER)
  await world.stopVoting()
  await world.assertSurvived(t, 'API SIGKILL', healedAt)
})

test('the checks can fail: 25 accepted entries deleted from the stream before any consumer read them ' +
  'are caught as lost and unaccounted', async (t) => {
  const world = await chaosWorld(t)
  for (const c of world.consumers) await stopProcess(c, 'SIGTERM')
  world.startVoting()
  await world.votesPass(VOTES_BEFORE)
  await world.stopVoting()
  // The only 202 of 25 (user, content) pairs, gone before it was applied: a lost vote the client was told was taken.
  const byPair = new Map<string, string[]>()
  for (const a of world.answers) {
    const pair = `${a.user}:${a.content}`
    if (a.status === 202) byPair.set(pair, [...(byPair.get(pair) ?? []), a.id!])
  }
  const victims = [...byPair.values()].filter((ids) => ids.length === 1).slice(0, 25).map(([id]) => id!)
  assert.equal(await world.redis.xdel(world.keys.stream(0), ...victims), 25)
  for (let i = 0; i < 3; i++) world.consumers[i] = world.startConsumer(`chaos-${i + 1}`)
  const { row, lost, report } = await world.verify('25 entries deleted (control)', Date.now())
  t.diagnostic(tableRow(row))
  rows.push(row)
  assert.equal(lost.length, 25, 'the client-side check finds every deleted vote')
  assert.equal(report.ok, false)
  assert.equal(report.ledger[0]!.unaccounted, 25, 'the audit counts them without the client\'s records')
})
