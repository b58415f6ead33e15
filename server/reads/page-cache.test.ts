import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPageCache } from './page-cache.js'

const options = { maxEntries: 10, maxBytes: 1000, maxAgeMs: 500, sizeOf: (v: string) => v.length }

test('an entry comes back until it is maxAgeMs old', () => {
  let clock = 1000
  const cache = createPageCache<string>({ ...options, now: () => clock })
  cache.set('p1', 'rows')
  assert.equal(cache.get('p1'), 'rows')
  clock = 1499
  assert.equal(cache.get('p1'), 'rows')
  clock = 1500
  assert.equal(cache.get('p1'), undefined, 'expired')
  assert.equal(cache.get('p2'), undefined, 'never stored')
})

test('past maxEntries the entry stored longest ago is evicted; storing a key again renews it', () => {
  const cache = createPageCache<string>({ ...options, maxEntries: 2, maxAgeMs: 60_000 })
  cache.set('a', '1')
  cache.set('b', '2')
  cache.set('a', '3')
  cache.set('c', '4')
  assert.equal(cache.get('b'), undefined)
  assert.equal(cache.get('a'), '3')
  assert.equal(cache.get('c'), '4')
})

test('the estimated bytes stay under maxBytes: the oldest entries go, and an entry larger than the budget is not kept', () => {
  const cache = createPageCache<string>({ ...options, maxEntries: 100, maxBytes: 100, maxAgeMs: 60_000 })
  for (let i = 0; i < 10; i++) cache.set(`k${i}`, 'x'.repeat(30))
  assert.deepEqual(cache.size, { entries: 3, bytes: 90 })
  assert.equal(cache.get('k9')?.length, 30)
  assert.equal(cache.get('k6'), undefined)
  cache.set('huge', 'x'.repeat(101))
  assert.equal(cache.get('huge'), undefined)
  assert.deepEqual(cache.size, { entries: 3, bytes: 90 }, 'and it displaced nothing')
})

test('expired entries are swept when new ones arrive, not only when their own key is read again', () => {
  let clock = 0
  const cache = createPageCache<string>({ ...options, now: () => clock })
  for (let i = 0; i < 5; i++) cache.set(`old${i}`, 'xx')
  clock = 600
  cache.set('new', 'yy')
  assert.deepEqual(cache.size, { entries: 1, bytes: 2 })
})

test('maxAgeMs 0 turns the cache off', () => {
  const cache = createPageCache<string>({ ...options, maxAgeMs: 0 })
  cache.set('a', '1')
  assert.equal(cache.get('a'), undefined)
})
