import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { createDb } from './db/client.js'
import { bayesianAverage, ratingLowerBound, voteCount, voteSum, type Histogram } from './ranking.js'

const prior = { mean: 2.5, weight: 10, z: 1.65 }

test('one 5 does not outrank ten votes averaging 4.8 (the issue\'s example), with C 2.5 and m 10', () => {
  const one = bayesianAverage(5, 1, prior)
  const ten = bayesianAverage(48, 10, prior)
  assert.ok(Math.abs(one - 30 / 11) < 1e-12 && Math.abs(ten - 73 / 20) < 1e-12)
  assert.ok(ten > one)
  assert.equal(bayesianAverage(0, 0, prior), 2.5, 'no votes: C')
  assert.equal(bayesianAverage(0, 0, { ...prior, weight: 0 }), 2.5, 'm 0 and no votes: C, not 0/0')
})

test('the lower bound rises with agreement and with the number of votes, and stays within 0..5', () => {
  const lb = (h: Histogram) => ratingLowerBound(h, 1.65)
  assert.ok(lb([0, 0, 0, 0, 0, 10]) > lb([0, 0, 0, 0, 0, 1]), 'ten 5s are surer than one')
  assert.ok(lb([0, 0, 0, 0, 0, 10]) > lb([5, 0, 0, 0, 0, 5]), 'agreement beats a split of the same mean and more')
  assert.ok(lb([0, 0, 0, 0, 0, 100]) > lb([0, 0, 0, 0, 100, 0]))
  // Evan Miller's worked example shape: no votes gives the prior's bound, 2.5 − 1.65·sqrt((55/6 − 6.25) / 7).
  assert.ok(Math.abs(lb([0, 0, 0, 0, 0, 0]) - (2.5 - 1.65 * Math.sqrt((55 / 6 - 6.25) / 7))) < 1e-12)
  for (const h of [[1e6, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1e6]] as Histogram[]) assert.ok(lb(h) >= 0 && lb(h) <= 5)
  assert.deepEqual([voteCount([1, 2, 3, 4, 5, 6]), voteSum([1, 2, 3, 4, 5, 6])], [21, 2 + 6 + 12 + 20 + 30])
})

test('the SQL functions the rank keys use give the very same doubles as these, on 500 random histograms', async (t) => {
  const db = createDb(process.env.DATABASE_URL!, { max: 1 })
  t.after(() => db.close())
  const cases = Array.from({ length: 500 }, (_, i) => {
    const big = i % 5 === 0 ? 1_000_000 : 40
    const h = Array.from({ length: 6 }, () => Math.floor(Math.random() * big)) as unknown as Histogram
    return { h, mean: Math.random() * 5, weight: [0, 1, 10, 250][i % 4]!, z: [1.65, 1.96, 0.5][i % 3]! }
  })
  const list = (f: (c: typeof cases[number]) => number) => sql.param(`{${cases.map(f).join(',')}}`)
  const rows = await db.execute<{ b: number; lb: number }>(sql`
    select tally_bayesian_average(q.s, q.n, q.mean, q.weight) as b, tally_rating_lower_bound(q.h0, q.h1, q.h2, q.h3, q.h4, q.h5, q.z) as lb
    from unnest(${list((c) => voteSum(c.h))}::int8[], ${list((c) => voteCount(c.h))}::int[], ${list((c) => c.mean)}::float8[],
      ${list((c) => c.weight)}::float8[], ${list((c) => c.h[0])}::int[], ${list((c) => c.h[1])}::int[], ${list((c) => c.h[2])}::int[],
      ${list((c) => c.h[3])}::int[], ${list((c) => c.h[4])}::int[], ${list((c) => c.h[5])}::int[], ${list((c) => c.z)}::float8[])
      with ordinality as q(s, n, mean, weight, h0, h1, h2, h3, h4, h5, z, i)
    order by q.i`)
  assert.equal(rows.length, cases.length)
  rows.forEach((row, i) => {
    const c = cases[i]!
    assert.equal(row.b, bayesianAverage(voteSum(c.h), voteCount(c.h), c), `bayesian_average of ${JSON.stringify(c)}`)
    assert.equal(row.lb, ratingLowerBound(c.h, c.z), `rating_lower_bound of ${JSON.stringify(c)}`)
  })
})
