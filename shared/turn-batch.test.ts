import { test } from 'node:test'
import assert from 'node:assert/strict'
import { batchPerTurn } from './turn-batch.js'

test('requests of one turn go to one call, in order, and each gets its own answer', async () => {
  const calls: number[][] = []
  const double = batchPerTurn(async (xs: number[]) => { calls.push(xs); return xs.map((x) => 2 * x) })
  const answers = await Promise.all([double(1), double(2), double(3)])
  assert.deepEqual(answers, [2, 4, 6])
  assert.deepEqual(calls, [[1, 2, 3]])
  assert.equal(await double(5), 10)
  assert.deepEqual(calls, [[1, 2, 3], [5]], 'a later turn is a call of its own')
})

test('past maxPerCall a turn\'s requests go as several calls', async () => {
  const calls: number[][] = []
  const same = batchPerTurn(async (xs: number[]) => { calls.push(xs); return xs }, 2)
  assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map(same)), [1, 2, 3, 4, 5])
  assert.deepEqual(calls, [[1, 2], [3, 4], [5]])
})

test('a failed call fails every request of its batch, and only those', async () => {
  const flaky = batchPerTurn(async (xs: number[]) => { if (xs.includes(0)) throw new Error('database away'); return xs })
  const results = await Promise.allSettled([flaky(1), flaky(0)])
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
  assert.equal(await flaky(7), 7)
})

test('a call that answers fewer requests than it was given fails them all instead of leaving some unanswered', async () => {
  const short = batchPerTurn(async (xs: number[]) => xs.slice(1))
  const results = await Promise.allSettled([short(1), short(2)])
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
})

test('a run that throws before returning a promise fails its batch', async () => {
  const broken = batchPerTurn<number, number>(() => { throw new Error('bad query') })
  await assert.rejects(broken(1), /bad query/)
})

test('with groups, a turn makes one call per group that has requests, in the order each group\'s first request came', async () => {
  const calls: [number, string[]][] = []
  const tagged = batchPerTurn(async (xs: string[], group: number) => { calls.push([group, xs]); return xs.map((x) => `${x}@${group}`) },
    { groups: { count: 4, of: (x: string) => Number(x[0]) }, maxPerCall: 2 })
  const answers = await Promise.all(['3a', '1a', '3b', '3c', '1b'].map(tagged))
  assert.deepEqual(answers, ['3a@3', '1a@1', '3b@3', '3c@3', '1b@1'])
  assert.deepEqual(calls, [[3, ['3a', '3b']], [3, ['3c']], [1, ['1a', '1b']]], 'never two groups in one call; past maxPerCall, several')
  await assert.rejects(tagged('7'), RangeError, 'a request outside every group is refused')
})

test('answers turns what run resolved to into the answers, and a reply it cannot read fails the batch', async () => {
  const halve = batchPerTurn(async (xs: number[]) => ({ sum: xs.reduce((a, b) => a + b, 0), halves: xs.map((x) => x / 2) }),
    { answers: (reply: { halves: number[] }) => reply.halves })
  assert.deepEqual(await Promise.all([halve(2), halve(6)]), [1, 3])
  const unreadable = batchPerTurn(async (xs: number[]) => xs, { answers: () => { throw new Error('unexpected reply') } })
  const results = await Promise.allSettled([unreadable(1), unreadable(2)])
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
})
