import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTokenCache } from './token-cache.js'

test('a cached token names its user until it expires, then is forgotten', () => {
  const cache = createTokenCache(10)
  cache.set('a.b.c', 7, 1000)
  assert.equal(cache.get('a.b.c', 999), 7)
  assert.equal(cache.get('a.b.c', 1000), undefined)
  assert.equal(cache.size, 0)
})

test('only the identical token hits', () => {
  const cache = createTokenCache(10)
  cache.set('a.b.c', 7, 1000)
  assert.equal(cache.get('a.b.C', 0), undefined)
  assert.equal(cache.get('a.b.c ', 0), undefined)
})

test('past its bound the oldest entry is dropped', () => {
  const cache = createTokenCache(2)
  cache.set('t1', 1, 1000)
  cache.set('t2', 2, 1000)
  cache.set('t3', 3, 1000)
  assert.equal(cache.size, 2)
  assert.equal(cache.get('t1', 0), undefined)
  assert.equal(cache.get('t2', 0), 2)
  assert.equal(cache.get('t3', 0), 3)
})

test('a bound of zero caches nothing', () => {
  const cache = createTokenCache(0)
  cache.set('t1', 1, 1000)
  assert.equal(cache.get('t1', 0), undefined)
})
