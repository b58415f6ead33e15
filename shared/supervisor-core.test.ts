// The supervisor core (supervisor-core.ts) with children that are plain objects and a clock the test moves:
// when a child is restarted, when it is given up on, and how a stop asks, waits and kills.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { setImmediate as turn } from 'node:timers/promises'
import { EXIT_CONFIG } from './config.js'
import { restartDelayMs, superviseChildren, type ChildExit } from './supervisor-core.js'

class FakeChild extends EventEmitter {
  isRunning = true
  stopRequests: string[] = []
  constructor(readonly slot: number, readonly restarts: number) { super() }
  exit(exit: ChildExit): void {
    this.isRunning = false
    this.emit('exit', exit)
  }
}

const GRACE_MS = 5000

/** A supervisor of FakeChild; `obeys`: a child asked to stop exits 0 (on the next turn), else it hangs on. */
function supervised(t: TestContext, { slots = 1, obeys = true } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] })
  const children: FakeChild[] = []
  const restarts: { slot: number; exit: ChildExit; restartInMs: number }[] = []
  const givenUp: number[] = []
  const supervisor = superviseChildren<FakeChild>({
    slots,
    graceMs: GRACE_MS,
    start: (slot, n) => {
      const child = new FakeChild(slot, n)
      children.push(child)
      return child
    },
    onExit: (child, listener) => child.once('exit', listener),
    isRunning: (child) => child.isRunning,
    askToStop: (child, reason) => {
      child.stopRequests.push(reason)
      if (obeys) setImmediate(() => child.exit({ code: 0, signal: null }))
    },
    kill: (child) => child.exit({ code: null, signal: 'SIGKILL' }),
    onRestart: (_child, slot, exit, restartInMs) => restarts.push({ slot, exit, restartInMs }),
    onGiveUp: (_child, slot) => givenUp.push(slot),
  })
  return { supervisor, children, restarts, givenUp, tick: (ms: number) => t.mock.timers.tick(ms) }
}

test('the restart back-off: 500 ms doubled per quick death up to 10 s, none after 30 s of good health', () => {
  const cases: [livedMs: number, quickExits: number, delayMs: number][] = [
    [0, 0, 500], [1000, 1, 1000], [0, 2, 2000], [0, 4, 8000], [0, 5, 10_000], [0, 60, 10_000],
    [30_000, 3, 4000], [30_001, 3, 0], [3_600_000, 0, 0],
  ]
  for (const [livedMs, quickExits, delayMs] of cases) {
    assert.equal(restartDelayMs(livedMs, quickExits), delayMs, `lived ${livedMs} ms after ${quickExits} quick exits`)
  }
})

test('a child that dies is started again in its slot after the back-off, which grows while it keeps dying', (t) => {
  const { supervisor, children, restarts, tick } = supervised(t, { slots: 2 })
  supervisor.start()
  assert.deepEqual(children.map((c) => [c.slot, c.restarts]), [[0, 0], [1, 0]])
  children[1]!.exit({ code: 1, signal: null })
  assert.deepEqual(restarts, [{ slot: 1, exit: { code: 1, signal: null }, restartInMs: 500 }])
  tick(499)
  assert.equal(children.length, 2, 'not before its delay')
  tick(1)
  assert.deepEqual(children.map((c) => [c.slot, c.restarts]), [[0, 0], [1, 0], [1, 1]])
  children[2]!.exit({ code: null, signal: 'SIGKILL' })
  assert.equal(restarts[1]!.restartInMs, 1000, 'a second quick death waits twice as long')
  tick(1000)
  tick(30_001)
  children[3]!.exit({ code: 1, signal: null })
  assert.equal(restarts[2]!.restartInMs, 0, 'after a healthy life, at once')
  tick(0)
  assert.deepEqual(children.map((c) => [c.slot, c.restarts]).at(-1), [1, 3])
  assert.deepEqual(supervisor.running(), [children[0], children[4]])
})

test('a child that cannot start for its configuration is given up on, not restarted', (t) => {
  const { supervisor, children, restarts, givenUp } = supervised(t)
  supervisor.start()
  children[0]!.exit({ code: EXIT_CONFIG, signal: null })
  assert.deepEqual(givenUp, [0])
  assert.deepEqual(restarts, [])
})

test('stop asks every running child once, cancels a restart in wait, and resolves with their exits', async (t) => {
  const { supervisor, children, restarts, tick } = supervised(t, { slots: 2 })
  supervisor.start()
  children[1]!.exit({ code: 1, signal: null }) // its restart waits 500 ms
  const stopped = supervisor.stop('SIGTERM')
  assert.deepEqual(children.map((c) => c.stopRequests), [['SIGTERM'], []])
  assert.deepEqual(await stopped, [{ code: 0, signal: null }])
  tick(10_000)
  assert.equal(children.length, 2, 'the slot in wait was not restarted')
  assert.equal(restarts.length, 1, 'the exits of a stop are not restarts')
})

test('a child that outlasts the grace period is killed 2 s after it', async (t) => {
  const { supervisor, children, tick } = supervised(t, { obeys: false })
  supervisor.start()
  let exits: ChildExit[] | undefined
  void supervisor.stop('SIGTERM').then((e) => { exits = e })
  tick(GRACE_MS + 1999)
  await turn()
  assert.equal(exits, undefined)
  assert.ok(children[0]!.isRunning, 'still given time')
  tick(1)
  await turn()
  assert.deepEqual(exits, [{ code: null, signal: 'SIGKILL' }])
})

test('kill ends every running child at once, and none is restarted', (t) => {
  const { supervisor, children, restarts } = supervised(t, { slots: 2, obeys: false })
  supervisor.start()
  void supervisor.stop('SIGINT')
  supervisor.kill()
  assert.deepEqual(children.map((c) => c.isRunning), [false, false])
  assert.deepEqual(restarts, [])
})
