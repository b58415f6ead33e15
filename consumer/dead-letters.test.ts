import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEAD_LETTER_REASONS, reasonLabel, type DeadLetterReason, type Rejected } from './dead-letters.js'
import { decodeEntry, rejectVote, type Vote } from './decode.js'

const S = 'votes:{0}'

test('every reason decode and apply give a dead letter is a label counted from the start; a SQLSTATE is not', () => {
  const bad: [string, string[]][] = [
    ['x-0', ['user', '1', 'content', '2', 'score', '3']],
    ['1-0', ['user', '1', 'content', '2']],
    ['1-0', ['user', '0', 'content', '2', 'score', '3']],
    ['1-0', ['user', '1', 'content', 'x', 'score', '3']],
    ['1-0', ['user', '1', 'content', '2', 'score', '6']],
  ]
  const vote = decodeEntry(S, ['1-0', ['user', '1', 'content', '2', 'score', '3']]) as Vote
  const reasons: DeadLetterReason[] = [
    ...bad.map((e) => (decodeEntry(S, e) as Rejected).reason),
    ...(['unknown_user', 'unknown_content', 'apply_failed_23514'] as const).map((r) => rejectVote(vote, r).reason),
    'max_deliveries',
  ]
  const labels = reasons.map(reasonLabel)
  assert.deepEqual([...new Set(labels)].sort(), [...DEAD_LETTER_REASONS].sort())
  assert.equal(reasonLabel('apply_failed_22003'), 'apply_failed')
})
