import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bucketDelta, growthAfterWarmup, histogramQuantile, percentile, ratio, round } from './stats.js'

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

test('histogram quantiles interpolate inside the bucket, as Prometheus does', () => {
  const b: [number, number][] = [[0.001, 50], [0.005, 90], [0.01, 100], [Infinity, 100]]
  assert.equal(histogramQuantile(b, 0.5), 0.001)
  assert.equal(round(histogramQuantile(b, 0.7), 6), 0.003, 'halfway between 50 and 90 observations: halfway through 1..5 ms')
  assert.equal(round(histogramQuantile(b, 0.99), 6), 0.0095)
  assert.equal(histogramQuantile([[0.001, 0], [Infinity, 10]], 0.99), 0.001, 'beyond the last bound: that bound')
  assert.ok(Number.isNaN(histogramQuantile([[0.001, 0], [Infinity, 0]], 0.5)))
})

test('a second\'s histogram is the bucket-by-bucket difference of two cumulative readings', () => {
  assert.deepEqual(bucketDelta([[0.001, 15], [Infinity, 30]], [[0.001, 10], [Infinity, 12]]), [[0.001, 5], [Infinity, 18]])
  assert.deepEqual(bucketDelta([[0.001, 15]], undefined), [[0.001, 15]])
})
