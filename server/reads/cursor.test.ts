import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeCursor, encodeCursor } from './cursor.js'

test('a cursor survives a round trip in both directions', () => {
  for (const c of [{ beforeId: 1 }, { beforeId: 2_147_483_647 }, { afterId: 42 }]) {
    assert.deepEqual(decodeCursor(encodeCursor(c)), c)
  }
})

test('text that is not a cursor this API made is refused', () => {
  const bad = ['', 'abc', encodeCursor({ beforeId: 1 }) + '=', Buffer.from('b0').toString('base64url'),
    Buffer.from('b2147483648').toString('base64url'), Buffer.from('x12').toString('base64url'), Buffer.from('b-1').toString('base64url')]
  for (const text of bad) assert.equal(decodeCursor(text), null, text)
})
