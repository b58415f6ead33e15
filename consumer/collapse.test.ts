import { test } from 'node:test'
import assert from 'node:assert/strict'
import { collapse } from './collapse.js'
import { decodeEntry, type Vote } from './decode.js'

const vote = (id: string, user: number, content: number, score: number) =>
  decodeEntry('s', [id, ['user', String(user), 'content', String(content), 'score', String(score)]]) as Vote

test('the newest vote per (user, content) wins, whatever the arrival order', () => {
  const out = collapse([vote('10-0', 1, 1, 2), vote('9-5', 1, 1, 4), vote('10-1', 1, 1, 5), vote('10-0', 2, 1, 1)])
  assert.deepEqual(out.map((v) => [v.userId, v.contentId, v.score, v.entryId]), [[1, 1, 5, '10-1'], [2, 1, 1, '10-0']])
})

test('the result is ordered by content, then user: the lock order', () => {
  const out = collapse([vote('1-0', 9, 3, 1), vote('2-0', 1, 3, 1), vote('3-0', 5, 1, 1), vote('4-0', 2, 2, 1)])
  assert.deepEqual(out.map((v) => [v.contentId, v.userId]), [[1, 5], [2, 2], [3, 1], [3, 9]])
})

test('an empty batch collapses to nothing', () => {
  assert.deepEqual(collapse([]), [])
})
