import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loopBackoffMs } from './retry.js'

test('the loop backs off from 200 ms after a failure, doubling, and never waits more than 5 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 100].map(loopBackoffMs), [200, 400, 800, 1600, 3200, 5000, 5000, 5000])
})
