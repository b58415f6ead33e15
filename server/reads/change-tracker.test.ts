import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createChangeTracker } from './change-tracker.js'

const live = () => {
  const state = createChangeTracker()
  state.resynced([])
  return state
}
const page = (since: number, contentIds: number[]) => ({ since, contentIds, verifiedSeq: -1 })

test('nothing is cacheable or current until the first subscription, nor after it drops', () => {
  const state = createChangeTracker()
  assert.equal(state.begin(), null)
  state.resynced([])
  const read = page(state.begin()!, [1])
  assert.equal(state.isCurrent(read), true)
  state.disconnected()
  assert.equal(state.begin(), null)
  assert.equal(state.isCurrent(read), false)
})

test('a page goes stale when a content on it changes after its read began, not when others do', () => {
  const state = live()
  const read = page(state.begin()!, [1, 2, 3])
  state.contentsChanged([4, 5])
  assert.equal(state.isCurrent(read), true)
  state.contentsChanged([2])
  assert.equal(state.isCurrent(read), false)
  assert.equal(state.isCurrent(page(state.begin()!, [1, 2, 3])), true, 'a read begun after the change is current')
})

test('"everything changed" and a new subscription make every earlier read stale', () => {
  const state = live()
  const before = page(state.begin()!, [1])
  state.allChanged()
  assert.equal(state.isCurrent(before), false)
  const again = page(state.begin()!, [1])
  state.disconnected()
  state.resynced([])
  assert.equal(state.isCurrent(again), false)
})

test('a lock shows until it ends, makes pages showing the content stale, and a resync replaces the locks', () => {
  const state = live()
  const read = page(state.begin()!, [7])
  state.lockSet(7, 5000)
  assert.equal(state.lockedUntil(7, 4999), 5000)
  assert.equal(state.lockedUntil(7, 5000), null)
  assert.equal(state.isCurrent(read), false)
  state.lockSet(8, 9000)
  state.resynced([[9, 9000]])
  assert.deepEqual([state.lockedUntil(8, 0), state.lockedUntil(9, 0)], [null, 9000])
})

test('every lock announced counts as a lock set, and the locks a resync loads do not', () => {
  const state = live()
  assert.equal(state.locksSeen, 0)
  state.lockSet(7, 5000)
  state.lockSet(8, 6000)
  state.resynced([[9, 9000]])
  assert.equal(state.locksSeen, 2)
})

test('a flood of changes past the tracking bound turns into "everything changed"', () => {
  const state = live()
  const read = page(state.begin()!, [1])
  state.contentsChanged(Array.from({ length: 200_001 }, (_, i) => i + 2))
  assert.equal(state.isCurrent(read), false)
})
