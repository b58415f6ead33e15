import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backoffMs } from './backoff.js'

test('a back-off doubles from its base per attempt and stops at its cap', () => {
  const rule = { baseMs: 50, maxMs: 1000 }
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, rule)), [50, 100, 200, 400, 800, 1000, 1000])
  assert.equal(backoffMs(5000, rule), 1000)
  assert.equal(backoffMs(-1, rule), 50)
})
