import { test } from 'node:test'
import assert from 'node:assert/strict'
import { collapse } from './collapse.js'
import { decodeEntry, type Vote } from './decode.js'

const vote = (id: string, user: number, content: number, score: number) =>
  decodeEntry('s', [id, ['user', String(user), 'content', String(content), 'score', String(score)]]) as Vote

/** [id, user, content, score] in → [user, content, score, id] out. */
type In = [string, number, number, number]
type Out = [number, number, number, string]

test('collapse keeps the newest vote per (user, content), in (content, user) order', () => {
  const cases: [string, In[], Out[]][] = [
    ['an empty batch', [], []],
    ['one vote', [['1-0', 1, 1, 3]], [[1, 1, 3, '1-0']]],
    ['the newest wins, whatever the arrival order',
      [['10-0', 1, 1, 2], ['9-5', 1, 1, 4], ['10-1', 1, 1, 5], ['10-0', 2, 1, 1]],
      [[1, 1, 5, '10-1'], [2, 1, 1, '10-0']]],
    ['ids compare as numbers, ms before seq', [['10-2', 1, 1, 1], ['10-10', 1, 1, 2], ['9-99', 1, 1, 3]], [[1, 1, 2, '10-10']]],
    ['a later ms beats a larger seq', [['1700000000001-0', 1, 1, 1], ['1700000000000-9', 1, 1, 2]], [[1, 1, 1, '1700000000001-0']]],
    ['ordered by content, then user: the lock order',
      [['1-0', 9, 3, 1], ['2-0', 1, 3, 1], ['3-0', 5, 1, 1], ['4-0', 2, 2, 1]],
      [[5, 1, 1, '3-0'], [2, 2, 1, '4-0'], [1, 3, 1, '2-0'], [9, 3, 1, '1-0']]],
    ['the same user on two contents and two users on one content stay apart',
      [['1-0', 1, 1, 1], ['1-1', 1, 2, 2], ['1-2', 2, 1, 3]],
      [[1, 1, 1, '1-0'], [2, 1, 3, '1-2'], [1, 2, 2, '1-1']]],
    ['the same entry delivered twice counts once', [['5-0', 1, 1, 4], ['5-0', 1, 1, 4]], [[1, 1, 4, '5-0']]],
    ['the largest ids sort as numbers too', [['1-0', 2147483647, 2147483647, 1], ['1-0', 2, 2147483646, 1]],
      [[2, 2147483646, 1, '1-0'], [2147483647, 2147483647, 1, '1-0']]],
  ]
  for (const [what, input, expected] of cases) {
    const out = collapse(input.map(([id, u, c, s]) => vote(id, u, c, s)))
    assert.deepEqual(out.map((v) => [v.userId, v.contentId, v.score, v.entryId]), expected, what)
  }
})

test('collapse leaves its input as it was', () => {
  const input = [vote('2-0', 1, 2, 1), vote('1-0', 1, 1, 1)]
  collapse(input)
  assert.deepEqual(input.map((v) => v.entryId), ['2-0', '1-0'])
})
