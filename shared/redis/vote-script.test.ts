import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseVoteReply } from './vote-script.js'

test('every reply of vote.lua maps to its outcome, with Retry-After rounded up to whole seconds', () => {
  assert.deepEqual(parseVoteReply([1, '17-0']), { kind: 'accepted', entryId: '17-0' })
  assert.deepEqual(parseVoteReply([0, 119_001]), { kind: 'locked', retryAfterSeconds: 120 })
  assert.deepEqual(parseVoteReply([0, 1]), { kind: 'locked', retryAfterSeconds: 1 })
  assert.deepEqual(parseVoteReply([-1]), { kind: 'unknown_content' })
  assert.deepEqual(parseVoteReply([-2]), { kind: 'index_incomplete' })
  assert.deepEqual(parseVoteReply([-3]), { kind: 'deadline_passed' })
  assert.deepEqual(parseVoteReply([-4, 30_500]), { kind: 'rate_limited', retryAfterSeconds: 31 })
})

test('a reply of another shape is an error, not a guess', () => {
  for (const reply of [[], [1], [1, 5], [0, 'x'], [7], [-4]]) assert.throws(() => parseVoteReply(reply), /unexpected reply/)
})
