import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPageCache } from './page-cache.js'

test('an entry comes back with the generation it was stored under until it is maxAgeMs old', () => {
  let clock = 1000
  const cache = createPageCache<string>({ maxEntries: 10, maxAgeMs: 500, now: () => clock })
  cache.set('p1', 'g1', 'rows')
  assert.deepEqual({ ...cache.get('p1') }, { generation: 'g1', value: 'rows', storedAt: 1000 })
  clock = 1499
  assert.equal(cache.get('p1')?.value, 'rows')
  clock = 1500
  assert.equal(cache.get('p1'), undefined, 'expired')
  assert.equal(cache.get('p2'), undefined, 'never stored')
})

test('past maxEntries the entry stored longest ago is evicted; storing a key again renews it', () => {
  const cache = createPageCache<number>({ maxEntries: 2, maxAgeMs: 60_000 })
  cache.set('a', 'g', 1)
  cache.set('b', 'g', 2)
  cache.set('a', 'g2', 3)
  cache.set('c', 'g', 4)
  assert.equal(cache.get('b'), undefined)
  assert.equal(cache.get('a')?.value, 3)
  assert.equal(cache.get('a')?.generation, 'g2')
  assert.equal(cache.get('c')?.value, 4)
})

test('maxAgeMs 0 turns the cache off', () => {
  const cache = createPageCache<number>({ maxEntries: 10, maxAgeMs: 0 })
  cache.set('a', 'g', 1)
  assert.equal(cache.get('a'), undefined)
})
