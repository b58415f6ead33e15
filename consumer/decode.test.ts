import { test } from 'node:test'
import assert from 'node:assert/strict'
import { entryVersion } from '../shared/entry-version.js'
import { decodeAll, decodeEntry, isNewer, type Vote } from './decode.js'

const S = 'votes:{0}'
const fields = (user: string, content: string, score: string) => ['user', user, 'content', content, 'score', score, 'ts', '1']

test('a well-formed entry decodes to a vote with its id as (ms, seq)', () => {
  assert.deepEqual(decodeEntry(S, ['1700000000000-3', fields('7', '42', '5')]), {
    stream: S, entryId: '1700000000000-3', ms: 1700000000000, seq: 3, userId: 7, contentId: 42, score: 5,
  })
})

test('fields are found by name: with or without ts, in any order, unknown ones ignored', () => {
  const cases: [string, string[]][] = [
    ['without ts', ['user', '7', 'content', '42', 'score', '5']],
    ['with ts', ['user', '7', 'content', '42', 'score', '5', 'ts', '1700000000000']],
    ['reordered', ['score', '5', 'ts', 'x', 'content', '42', 'user', '7']],
    ['an unknown field', ['user', '7', 'origin', 'api', 'content', '42', 'score', '5']],
    ['a dangling field name', ['user', '7', 'content', '42', 'score', '5', 'extra']],
  ]
  for (const [what, f] of cases) {
    for (const fields of [f, f.map((x) => Buffer.from(x))]) {
      const vote = decodeEntry(S, ['5-1', fields]) as Vote
      assert.deepEqual([vote.userId, vote.contentId, vote.score, vote.ms, vote.seq], [7, 42, 5, 5, 1],
        `${what}${typeof fields[0] === 'string' ? '' : ' (Buffers)'}`)
    }
  }
})

test('versions order like stream ids, not like strings', () => {
  const ids = ['9-0', '10-0', '10-1', '10-10', '10-2', '1700000000000-0']
  const byVersion = [...ids].sort((a, b) => (entryVersion(a)! < entryVersion(b)! ? -1 : 1))
  assert.deepEqual(byVersion, ['9-0', '10-0', '10-1', '10-2', '10-10', '1700000000000-0'])
  const v = (id: string) => decodeEntry(S, [id, fields('1', '1', '1')]) as Vote
  const cases: [string, string, boolean][] = [
    ['10-0', '9-0', true], ['9-0', '10-0', false], ['10-10', '10-2', true], ['10-2', '10-10', false], ['10-1', '10-1', false],
  ]
  for (const [a, b, newer] of cases) assert.equal(isNewer(v(a), v(b)), newer, `${a} newer than ${b}`)
})

test('each kind of malformed entry is rejected with its reason', () => {
  const cases: [string, string[], string][] = [
    ['not-an-id', fields('1', '1', '1'), 'bad_entry_id'],
    ['1-2097152', fields('1', '1', '1'), 'bad_entry_id'],
    ['1-0', ['user', '1', 'content', '1'], 'missing_field'],
    ['1-0', [], 'missing_field'],
    ['1-0', fields('0', '1', '1'), 'bad_user'],
    ['1-0', fields('-1', '1', '1'), 'bad_user'],
    ['1-0', fields('abc', '1', '1'), 'bad_user'],
    ['1-0', fields('01', '1', '1'), 'bad_user'],
    ['1-0', fields('+1', '1', '1'), 'bad_user'],
    ['1-0', fields('1e3', '1', '1'), 'bad_user'],
    ['1-0', fields('2147483648', '1', '1'), 'bad_user'],
    ['1-0', fields('99999999999', '1', '1'), 'bad_user'],
    ['1-0', fields('1', '1.5', '1'), 'bad_content'],
    ['1-0', fields('1', '', '1'), 'bad_content'],
    ['1-0', fields('1', ' 1', '1'), 'bad_content'],
    ['1-0', fields('1', '1', '6'), 'bad_score'],
    ['1-0', fields('1', '1', '-1'), 'bad_score'],
    ['1-0', fields('1', '1', '3.0'), 'bad_score'],
    ['1-0', fields('1', '1', ''), 'bad_score'],
    ['1-0', fields('1', '1', '05'), 'bad_score'],
  ]
  for (const [id, f, reason] of cases) {
    const result = decodeEntry(S, [id, f])
    assert.equal('reason' in result && result.reason, reason, `${id} ${f.join(' ')}`)
    // The same fields as the Buffers consumer/stream.ts reads them as.
    const fromBuffers = decodeEntry(S, [id, f.map((x) => Buffer.from(x))])
    assert.equal('reason' in fromBuffers && fromBuffers.reason, reason, `${id} ${f.join(' ')} (Buffers)`)
  }
  assert.deepEqual((decodeEntry(S, ['1-0', fields('2147483647', '1', '0')]) as Vote).userId, 2147483647, 'the largest id is fine')
})

test('a malformed entry does not stop its batch-mates', () => {
  const { votes, rejected } = decodeAll(S, [['1-0', fields('1', '2', '3')], ['2-0', fields('x', '2', '3')], ['3-0', fields('4', '5', '0')]])
  assert.deepEqual(votes.map((v) => v.entryId), ['1-0', '3-0'])
  assert.deepEqual(rejected.map((r) => [r.entryId, r.reason]), [['2-0', 'bad_user']])
  assert.deepEqual(rejected[0]!.fields, fields('x', '2', '3'), 'a dead letter keeps the fields as they were')
})

test('a field name is matched whole, also as a Buffer', () => {
  const cases: [string[], string][] = [
    [['users', '1', 'content', '1', 'score', '1'], 'missing_field'],
    [['use', '1', 'content', '1', 'score', '1'], 'missing_field'],
    [['User', '1', 'content', '1', 'score', '1'], 'missing_field'],
  ]
  for (const [f, reason] of cases) {
    for (const fields of [f, f.map((x) => Buffer.from(x))]) {
      const result = decodeEntry(S, ['1-0', fields])
      assert.equal('reason' in result && result.reason, reason, f[0])
    }
  }
})
