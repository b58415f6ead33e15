import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLanes } from './lanes.js'

/** A task that runs until its `finish` or `fail` is called. */
function gate() {
  let finish!: () => void, fail!: (err: Error) => void
  const task = () => new Promise<void>((resolve, reject) => { finish = resolve; fail = reject })
  return { task, finish: () => finish(), fail: (err: Error) => fail(err) }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

test('no more than `width` tasks run at once: the next start waits for a lane to free up', async () => {
  const lanes = createLanes(2)
  const [a, b, c] = [gate(), gate(), gate()]
  await lanes.start(a.task)
  await lanes.start(b.task)
  let cStarted = false
  const startingC = lanes.start(c.task).then(() => { cStarted = true })
  await tick()
  assert.equal(cStarted, false, 'both lanes are busy')
  assert.equal(lanes.running, 2)
  b.finish()
  await startingC
  assert.equal(lanes.running, 2, 'a and c')
  a.finish(); c.finish()
  await lanes.settle()
  assert.equal(lanes.running, 0)
})

test('finished settles when the task ends, success or failure; a failure is reported once, by the next start', async () => {
  const lanes = createLanes(1)
  const a = gate()
  const { finished } = await lanes.start(a.task)
  a.fail(new Error('batch failed'))
  await finished
  let ran = false
  await assert.rejects(lanes.start(async () => { ran = true }), /batch failed/)
  assert.equal(ran, false, 'the task given with the report is not started')
  await lanes.start(async () => { ran = true })
  assert.equal(ran, true, 'reported once: the next start goes ahead')
  await lanes.settle()
})

test('settle waits for every running task and rejects with a failure not yet reported', async () => {
  const lanes = createLanes(3)
  const [a, b] = [gate(), gate()]
  await lanes.start(a.task)
  await lanes.start(b.task)
  let settled = false
  const settling = lanes.settle().then(() => { settled = true }, (err: Error) => { settled = true; throw err })
  a.finish()
  await tick()
  assert.equal(settled, false, 'b still runs')
  b.fail(new Error('lost connection'))
  await assert.rejects(settling, /lost connection/)
  await lanes.settle()
})

test('a width that is not a positive integer is refused', () => {
  for (const width of [0, -1, 1.5, NaN]) assert.throws(() => createLanes(width), RangeError)
})

test('each running task has a lane number of its own, 0 to width − 1, freed for the next when it ends', async () => {
  const lanes = createLanes(2)
  const [a, b, c] = [gate(), gate(), gate()]
  const seen: number[] = []
  await lanes.start((lane) => { seen.push(lane); return a.task() })
  await lanes.start((lane) => { seen.push(lane); return b.task() })
  assert.deepEqual([...seen].sort(), [0, 1])
  a.finish()
  await lanes.start((lane) => { seen.push(lane); return c.task() })
  assert.equal(seen[2], seen[0], 'c runs in the lane a left')
  b.finish(); c.finish()
  await lanes.settle()
})
