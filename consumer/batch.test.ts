import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEAD_LETTER_REASONS, idsToAck, partitionByDeliveries, reasonLabel } from './batch.js'
import { decodeEntry, rejectVote, type Rejected, type StreamEntry, type Vote } from './decode.js'

const S = 'votes:{0}'
const entry = (id: string): StreamEntry => [id, ['user', '1', 'content', '2', 'score', '3']]

test('entries delivered more than maxDeliveries times are given up on as max_deliveries, with their fields; the rest are applied', () => {
  const entries = ['1-0', '2-0', '3-0', '4-0'].map(entry)
  const deliveries = new Map([['1-0', 2], ['2-0', 3], ['3-0', 4]]) // 4-0: no count read, taken as 1
  const { entries: kept, tooOften } = partitionByDeliveries({ stream: S, entries, deliveries }, 3)
  assert.deepEqual(kept.map(([id]) => id), ['1-0', '2-0', '4-0'], 'at the limit is still applied')
  assert.deepEqual(tooOften, [{ stream: S, entryId: '3-0', reason: 'max_deliveries', fields: entries[2]![1] }])
})

test('a new read (no delivery counts) is applied whole, whatever the limit', () => {
  const entries = ['1-0', '2-0'].map(entry)
  const { entries: kept, tooOften } = partitionByDeliveries({ stream: S, entries }, 1)
  assert.deepEqual(kept, entries)
  assert.deepEqual(tooOften, [])
})

test('the loop acks every entry but the dead-lettered ones, in stream order', () => {
  const entries = ['1-0', '2-0', '3-0', '4-0'].map(entry)
  const dead: Rejected[] = [{ stream: S, entryId: '3-0', reason: 'bad_score', fields: [] }, { stream: S, entryId: '1-0', reason: 'unknown_user', fields: [] }]
  assert.deepEqual(idsToAck(entries, dead), ['2-0', '4-0'])
  assert.deepEqual(idsToAck(entries, []), ['1-0', '2-0', '3-0', '4-0'])
})

test('every reason decode and apply give a dead letter is a label counted from the start; a SQLSTATE is not', () => {
  const bad: [string, string[]][] = [
    ['x-0', ['user', '1', 'content', '2', 'score', '3']],
    ['1-0', ['user', '1', 'content', '2']],
    ['1-0', ['user', '0', 'content', '2', 'score', '3']],
    ['1-0', ['user', '1', 'content', 'x', 'score', '3']],
    ['1-0', ['user', '1', 'content', '2', 'score', '6']],
  ]
  const vote = decodeEntry(S, ['1-0', ['user', '1', 'content', '2', 'score', '3']]) as Vote
  const reasons = [
    ...bad.map((e) => (decodeEntry(S, e) as Rejected).reason),
    ...['unknown_user', 'unknown_content', 'apply_failed_23514'].map((r) => rejectVote(vote, r).reason),
    'max_deliveries',
  ]
  const labels = reasons.map(reasonLabel)
  assert.deepEqual([...new Set(labels)].sort(), [...DEAD_LETTER_REASONS].sort())
  assert.equal(reasonLabel('apply_failed_22003'), 'apply_failed')
})
