import { test } from 'node:test'
import assert from 'node:assert/strict'
import { entryVersion } from '../../shared/entry-version.js'
import { createPendingStore, type PendingVote } from './store.js'

const vote = (entryId: string, score: number | null, shard = 0): PendingVote =>
  ({ score, version: entryVersion(entryId)!, shard, entryId })

type Step =
  | ['put', number, number, PendingVote]
  | ['drop', number, { ms: number; seq: number } | 'all', number]
  | ['settle', number, number, bigint | null, string | undefined]

const cases: { name: string; max?: number; steps: Step[]; expect: [user: number, content: number, entryId: string | undefined][] }[] = [
  {
    name: 'a newer vote replaces an older one of the same pair, in whatever order they arrive',
    steps: [['put', 1, 10, vote('100-0', 3)], ['put', 1, 10, vote('100-1', 5)], ['put', 1, 10, vote('99-7', 1)]],
    expect: [[1, 10, '100-1']],
  },
  {
    name: 'the same entry twice (route, then tail) keeps one record',
    steps: [['put', 1, 10, vote('100-0', 3)], ['put', 1, 10, vote('100-0', 3)]],
    expect: [[1, 10, '100-0']],
  },
  {
    name: 'ids compare as numbers: 9-0 is older than 10-0, 5-9 older than 5-10',
    steps: [['put', 1, 1, vote('10-0', 1)], ['put', 1, 1, vote('9-0', 2)], ['put', 1, 2, vote('5-10', 1)], ['put', 1, 2, vote('5-9', 2)]],
    expect: [[1, 1, '10-0'], [1, 2, '5-10']],
  },
  {
    name: 'a user holds many pairs; other users are apart',
    steps: [
      ['put', 1, 10, vote('1-0', 1)], ['put', 1, 11, vote('1-1', 2)], ['put', 1, 12, vote('1-2', null)], ['put', 2, 10, vote('1-3', 4)],
    ],
    expect: [[1, 10, '1-0'], [1, 11, '1-1'], [1, 12, '1-2'], [2, 10, '1-3'], [2, 11, undefined], [3, 10, undefined]],
  },
  {
    name: 'past maxRecords the record put longest ago goes',
    max: 2,
    steps: [['put', 1, 1, vote('1-0', 1)], ['put', 2, 1, vote('2-0', 1)], ['put', 3, 1, vote('3-0', 1)]],
    expect: [[1, 1, undefined], [2, 1, '2-0'], [3, 1, '3-0']],
  },
  {
    name: 'a replaced record leaves the eviction order: its newer vote counts as put last',
    max: 2,
    steps: [['put', 1, 1, vote('1-0', 1)], ['put', 2, 1, vote('2-0', 1)], ['put', 1, 1, vote('3-0', 2)], ['put', 3, 1, vote('4-0', 1)]],
    expect: [[1, 1, '3-0'], [2, 1, undefined], [3, 1, '4-0']],
  },
  {
    name: 'past maxRecords the oldest of the shards\' first records goes',
    max: 2,
    steps: [
      ['put', 1, 1, vote('1-0', 1)], ['put', 2, 1, vote('2-0', 1, 1)], ['put', 3, 1, vote('3-0', 1)], ['put', 4, 1, vote('4-0', 1, 1)],
    ],
    expect: [[1, 1, undefined], [2, 1, undefined], [3, 1, '3-0'], [4, 1, '4-0']],
  },
  {
    name: 'dropResolved drops the shard\'s records below the watermark, whatever order they came in',
    steps: [
      ['put', 1, 1, vote('100-5', 1)], ['put', 2, 1, vote('99-0', 1)], ['put', 3, 1, vote('100-4', 1)], ['put', 4, 2, vote('50-0', 1, 1)],
      ['drop', 0, { ms: 100, seq: 5 }, 2],
    ],
    expect: [[1, 1, '100-5'], [2, 1, undefined], [3, 1, undefined], [4, 2, '50-0']],
  },
  {
    name: 'after dropResolved, an entry below the watermark read late is not kept (resolved already)',
    steps: [
      ['drop', 0, { ms: 100, seq: 0 }, 0],
      ['put', 1, 1, vote('99-9', 1)], ['put', 1, 2, vote('100-0', 1)], ['put', 1, 3, vote('99-0', 1, 1)],
    ],
    expect: [[1, 1, undefined], [1, 2, '100-0'], [1, 3, '99-0']],
  },
  {
    name: 'a watermark one past a last-delivered id with a seq of 2^21 or more stops below the next millisecond',
    steps: [['put', 1, 1, vote('7-2097151', 1)], ['put', 1, 2, vote('8-0', 1)], ['drop', 0, { ms: 7, seq: 2 ** 40 }, 1]],
    expect: [[1, 1, undefined], [1, 2, '8-0']],
  },
  {
    name: 'an older watermark does not lower the floor',
    steps: [['drop', 0, { ms: 100, seq: 0 }, 0], ['drop', 0, { ms: 50, seq: 0 }, 0], ['put', 1, 1, vote('60-0', 1)]],
    expect: [[1, 1, undefined]],
  },
  {
    name: "'all' drops every record of the shard, and only of it",
    steps: [['put', 1, 1, vote('1-0', 1)], ['put', 1, 2, vote('2-0', 1)], ['put', 1, 3, vote('3-0', 1, 1)], ['drop', 0, 'all', 2]],
    expect: [[1, 1, undefined], [1, 2, undefined], [1, 3, '3-0']],
  },
  {
    name: 'settle drops the record once the applied version reaches it, and keeps it before',
    steps: [
      ['put', 1, 1, vote('100-3', 1)], ['settle', 1, 1, null, '100-3'], ['settle', 1, 1, entryVersion('100-2'), '100-3'],
      ['settle', 1, 1, entryVersion('100-3'), undefined],
      ['put', 1, 2, vote('200-0', null)], ['settle', 1, 2, entryVersion('300-0'), undefined], ['settle', 1, 3, null, undefined],
    ],
    expect: [[1, 1, undefined], [1, 2, undefined]],
  },
  {
    name: 'an older vote applied never clears a newer pending one',
    steps: [['put', 1, 1, vote('100-0', 2)], ['put', 1, 1, vote('101-0', 4)], ['settle', 1, 1, entryVersion('100-0'), '101-0']],
    expect: [[1, 1, '101-0']],
  },
]

for (const c of cases) {
  test(c.name, () => {
    const store = createPendingStore(c.max ?? 100)
    for (const step of c.steps) {
      if (step[0] === 'put') store.put(step[1], step[2], step[3])
      else if (step[0] === 'drop') assert.equal(store.dropResolved(step[1], step[2]), step[3], `dropped by ${JSON.stringify(step[2])}`)
      else assert.equal(store.settle(step[1], step[2], step[3])?.entryId, step[4], `settle ${step[3]}`)
    }
    for (const [user, content, entryId] of c.expect) {
      assert.equal(store.get(user, content)?.entryId, entryId, `user ${user} content ${content}`)
    }
    const users = new Set(c.expect.filter(([, , id]) => id !== undefined).map(([u]) => u))
    for (const [user] of c.expect) assert.equal(store.hasAny(user), users.has(user), `hasAny(${user})`)
    assert.equal(store.size, c.expect.filter(([, , id]) => id !== undefined).length)
  })
}

test('a record keeps its score (a retraction is null), version, shard and entry id', () => {
  const store = createPendingStore(10)
  store.put(1, 1, vote('5-1', null, 3))
  store.put(1, 2, vote('5-2', 0))
  const { score, version, shard, entryId } = store.get(1, 1)!
  assert.deepEqual({ score, version, shard, entryId }, { score: null, version: entryVersion('5-1'), shard: 3, entryId: '5-1' })
  assert.equal(store.get(1, 2)?.score, 0)
})

test('a user whose last record goes has nothing pending', () => {
  const store = createPendingStore(10)
  store.put(1, 1, vote('1-0', 1))
  store.put(1, 2, vote('2-0', 1))
  store.settle(1, 1, entryVersion('1-0'))
  assert.equal(store.hasAny(1), true)
  store.settle(1, 2, entryVersion('2-0'))
  assert.equal(store.hasAny(1), false)
  assert.equal(store.size, 0)
})

test('maxRecords must be a positive integer', () => {
  assert.throws(() => createPendingStore(0), RangeError)
  assert.throws(() => createPendingStore(1.5), RangeError)
})

test('a pair voted on again and again between sweeps holds one record, and eviction still finds the oldest', () => {
  const store = createPendingStore(2)
  store.put(1, 1, vote('1-0', 1))
  for (let i = 1; i <= 5000; i++) store.put(2, 2, vote(`10-${i}`, i % 6))
  assert.equal(store.size, 2)
  assert.equal(store.get(2, 2)?.entryId, '10-5000')
  store.put(3, 3, vote('20-0', 1))
  assert.equal(store.get(1, 1), undefined, 'the oldest went')
  assert.equal(store.get(2, 2)?.entryId, '10-5000')
  assert.equal(store.dropResolved(0, { ms: 10, seq: 5001 }), 1)
  assert.equal(store.size, 1)
})
