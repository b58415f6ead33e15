import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeAll, decodeEntry, entryVersion } from './decode.js'

const S = 'votes:{0}'
const fields = (user: string, content: string, score: string) => ['user', user, 'content', content, 'score', score, 'ts', '1']

test('a well-formed entry decodes to a vote with a numeric version', () => {
  assert.deepEqual(decodeEntry(S, ['1700000000000-3', fields('7', '42', '5')]), {
    stream: S, entryId: '1700000000000-3', version: (1700000000000n << 64n) + 3n, userId: 7, contentId: 42, score: 5,
  })
})

test('versions order like stream ids, not like strings', () => {
  const ids = ['9-0', '10-0', '10-1', '10-10', '10-2', '1700000000000-0']
  const byVersion = [...ids].sort((a, b) => (entryVersion(a)! < entryVersion(b)! ? -1 : 1))
  assert.deepEqual(byVersion, ['9-0', '10-0', '10-1', '10-2', '10-10', '1700000000000-0'])
})

test('each kind of malformed entry is rejected with its reason', () => {
  const cases: [string, string[], string][] = [
    ['not-an-id', fields('1', '1', '1'), 'bad_entry_id'],
    ['1-0', ['user', '1', 'content', '1'], 'missing_field'],
    ['1-0', [], 'missing_field'],
    ['1-0', fields('0', '1', '1'), 'bad_user'],
    ['1-0', fields('-1', '1', '1'), 'bad_user'],
    ['1-0', fields('abc', '1', '1'), 'bad_user'],
    ['1-0', fields('2147483648', '1', '1'), 'bad_user'],
    ['1-0', fields('1', '1.5', '1'), 'bad_content'],
    ['1-0', fields('1', '', '1'), 'bad_content'],
    ['1-0', fields('1', '1', '6'), 'bad_score'],
    ['1-0', fields('1', '1', '-1'), 'bad_score'],
    ['1-0', fields('1', '1', '3.0'), 'bad_score'],
  ]
  for (const [id, f, reason] of cases) {
    const result = decodeEntry(S, [id, f])
    assert.equal('reason' in result && result.reason, reason, `${id} ${f.join(' ')}`)
  }
})

test('a malformed entry does not stop its batch-mates', () => {
  const { votes, rejected } = decodeAll(S, [['1-0', fields('1', '2', '3')], ['2-0', fields('x', '2', '3')], ['3-0', fields('4', '5', '0')]])
  assert.deepEqual(votes.map((v) => v.entryId), ['1-0', '3-0'])
  assert.deepEqual(rejected.map((r) => [r.entryId, r.reason]), [['2-0', 'bad_user']])
})
