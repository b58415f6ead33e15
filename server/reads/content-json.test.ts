import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FormatRegistry } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { callerJson, renderEnvelope, renderItemParts } from './content-json.js'
import { bayesianAverage, ratingLowerBound } from '../../shared/ranking.js'
import { ContentItemSchema, ContentPageSchema } from '../schemas.js'

FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d\d-\d\dT/.test(v))

const row = {
  id: 7, title: 'a "quoted" title \\ with ünïcödé 🎉', description: 'line\nbreak\u2028and </script>', author_id: null,
  created_at: '2026-12-01T10:00:00.000Z', vote_count: 3, average_vote: 3.6666666666666665, user_vote: null,
  votes_0: 0, votes_1: 0, votes_2: 0, votes_3: 1, votes_4: 2, votes_5: 0,
}
const prior = { mean: 2.5, weight: 10, z: 1.65 }
const empty = { vote_count: 0, average_vote: null, votes_0: 0, votes_1: 0, votes_2: 0, votes_3: 0, votes_4: 0, votes_5: 0 }
const { votes_0: _0, votes_1: _1, votes_2: _2, votes_3: _3, votes_4: _4, votes_5: _5, ...shown } = row

test('a rendered page is the JSON the page schema describes, with each caller\'s score in its place', () => {
  const [before, after] = renderItemParts(row, Date.parse('2026-12-01T10:02:00.000Z'), prior)
  const [plainBefore, plainAfter] = renderItemParts({ ...row, id: 8, author_id: 3, ...empty }, null, prior)
  const { head, tail } = renderEnvelope({ count: 2, next: 'http://h/api/contents/?page=2&page_size=2', previous: null, next_cursor: 'Yjg' })
  const page = JSON.parse(`${head}${before}${callerJson(4, true)}${after},${plainBefore}${callerJson(null, false)}${plainAfter}${tail}`)
  assert.ok(TypeCompiler.Compile(ContentPageSchema, [ContentItemSchema]).Check(page), 'matches ContentPageSchema')
  assert.deepEqual(page.results[0], {
    ...shown, histogram: [0, 0, 0, 1, 2, 0], bayesian_average: bayesianAverage(11, 3, prior),
    rating_lower_bound: ratingLowerBound([0, 0, 0, 1, 2, 0], 1.65), user_vote: 4, user_vote_pending: true,
    locked_until: '2026-12-01T10:02:00.000Z',
  })
  assert.deepEqual(page.results[1], {
    ...shown, id: 8, author_id: 3, vote_count: 0, average_vote: null, histogram: [0, 0, 0, 0, 0, 0], bayesian_average: 2.5,
    rating_lower_bound: ratingLowerBound([0, 0, 0, 0, 0, 0], 1.65), user_vote: null, user_vote_pending: false, locked_until: null,
  })
  assert.deepEqual(Object.keys(page.results[0]), Object.keys(ContentItemSchema.properties))
  assert.deepEqual([page.count, page.next, page.previous, page.next_cursor], [2, 'http://h/api/contents/?page=2&page_size=2', null, 'Yjg'])
})
