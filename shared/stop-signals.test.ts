// The one stop-signal rule (stop-signals.ts), in this process: signals are emitted to its listeners (SIGHUP,
// which the test runner does not listen for), process.exit is recorded instead of run, and the clock is the test's.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { stopOnSignals, type StopOnSignalsOptions } from './stop-signals.js'

/** stopOnSignals on SIGHUP alone, with what it began, said and exited with recorded; undone when the test ends. */
function onHangUp(t: TestContext, opts: Partial<StopOnSignalsOptions> = {}) {
  const before = new Set(process.listeners('SIGHUP'))
  t.after(() => { for (const l of process.listeners('SIGHUP')) if (!before.has(l)) process.off('SIGHUP', l) })
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const said: string[] = []
  const exits: (number | undefined)[] = []
  t.mock.method(process, 'exit', (code?: number) => { exits.push(code) })
  const requests = stopOnSignals({
    signals: ['SIGHUP'],
    begin: (reason) => said.push(`begin ${reason}`),
    onTimeout: () => said.push('timeout'),
    onRepeat: (reason, count) => said.push(`repeat ${reason} ${count}`),
    ...opts,
  })
  return { requests, said, exits, hangUp: () => process.emit('SIGHUP', 'SIGHUP'), tick: (ms: number) => t.mock.timers.tick(ms) }
}

test('the first signal begins the stop; a second one exits 1 after its last words', (t) => {
  const p = onHangUp(t)
  p.hangUp()
  assert.deepEqual([p.said, p.exits], [['begin SIGHUP'], []])
  p.hangUp()
  assert.deepEqual([p.said, p.exits], [['begin SIGHUP', 'repeat SIGHUP 2'], [1]])
})

test('a stop that outlasts its grace period exits 1 after onTimeout', (t) => {
  const p = onHangUp(t, { graceMs: 3000 })
  p.hangUp()
  p.tick(2999)
  assert.deepEqual(p.exits, [])
  p.tick(1)
  assert.deepEqual([p.said, p.exits], [['begin SIGHUP', 'timeout'], [1]])
})

test('without a grace period the stop is never cut short by time', (t) => {
  const p = onHangUp(t)
  p.hangUp()
  p.tick(24 * 3600_000)
  assert.deepEqual([p.said, p.exits], [['begin SIGHUP'], []])
})

test('stop() counts as a request: asked first, a later signal is the second', (t) => {
  const p = onHangUp(t)
  p.requests.stop('configuration')
  p.hangUp()
  assert.deepEqual([p.said, p.exits], [['begin configuration', 'repeat SIGHUP 2'], [1]])
})

test('with exitOnRepeat false a later request is counted and handed to onRepeat, and the process goes on', (t) => {
  const p = onHangUp(t, { exitOnRepeat: false })
  p.hangUp()
  p.hangUp()
  p.requests.stop('message')
  assert.deepEqual([p.said, p.exits], [['begin SIGHUP', 'repeat SIGHUP 2', 'repeat message 3'], []])
})
