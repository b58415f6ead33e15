import { test } from 'node:test'
import assert from 'node:assert/strict'
import { growthAfterWarmup, percentile, ratio, round } from './stats.js'

test('ratios to the baseline, with a zero baseline giving 0 rather than Infinity', () => {
  assert.equal(ratio(50, 100), 0.5)
  assert.equal(ratio(50, 0), 0)
})

test('percentiles use the nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i) // 100..1, unsorted on purpose
  assert.equal(percentile(xs, 50), 50)
  assert.equal(percentile(xs, 99), 99)
  assert.equal(percentile(xs, 100), 100)
  assert.equal(percentile([7], 99.9), 7)
  assert.ok(Number.isNaN(percentile([], 50)))
})

test('memory growth after warm-up: flat is 0, a steady climb is positive', () => {
  assert.equal(growthAfterWarmup([5, 10, 10, 10, 10, 10, 10, 10, 10]), 0)
  assert.ok(growthAfterWarmup([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) > 0.2)
  assert.equal(round(1.23456, 2), 1.23)
})
