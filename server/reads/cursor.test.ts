import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeCursor, encodeCursor } from './cursor.js'
import { ORDERING_NAMES, ORDERINGS } from './orderings.js'

test('a cursor survives a round trip in both directions, newest first and in every ranking', () => {
  for (const c of [{ beforeId: 1 }, { beforeId: 2_147_483_647 }, { afterId: 42 }]) {
    assert.deepEqual(decodeCursor(encodeCursor(c)), { cursor: c, ordering: '-created_at' })
  }
  for (const ordering of ORDERING_NAMES.filter((o) => o !== '-created_at')) {
    const keys = ORDERINGS[ordering].type === 'int'
      ? [0, 1, 12345, 2_147_483_647]
      : [0, -1, 2.5, 3.6666666666666665, 4.999999999999999, 1e-7]
    for (const key of keys) {
      for (const c of [{ beforeId: 7, key }, { afterId: 7, key }]) {
        assert.deepEqual(decodeCursor(encodeCursor(c, ordering)), { cursor: c, ordering })
      }
    }
  }
})

test('a ranking cursor without its key, or with a key written another way, is refused', () => {
  const raw = (s: string) => Buffer.from(s).toString('base64url')
  for (const text of ['by123', 'by~123', 'by2.50~123', 'by+2~123', 'byNaN~123', 'bq2~123', 'by1e400~123', 'bv2.5~123', 'bv1e+21~1']) {
    assert.equal(decodeCursor(raw(text)), null, text)
  }
  assert.deepEqual(decodeCursor(raw('by2.5~123')), { cursor: { beforeId: 123, key: 2.5 }, ordering: '-bayesian_average' })
})

test('text that is not a cursor this API made is refused', () => {
  const bad = ['', 'abc', encodeCursor({ beforeId: 1 }) + '=', Buffer.from('b0').toString('base64url'),
    Buffer.from('b2147483648').toString('base64url'), Buffer.from('x12').toString('base64url'), Buffer.from('b-1').toString('base64url')]
  for (const text of bad) assert.equal(decodeCursor(text), null, text)
})
