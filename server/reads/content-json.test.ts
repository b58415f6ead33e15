import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FormatRegistry } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { renderEnvelope, renderItemParts } from './content-json.js'
import { ContentItemSchema, ContentPageSchema } from '../schemas.js'

FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d\d-\d\dT/.test(v))

const row = {
  id: 7, title: 'a "quoted" title \\ with ünïcödé 🎉', description: 'line\nbreak\u2028and </script>', author_id: null,
  created_at: '2026-12-01T10:00:00.000Z', vote_count: 3, average_vote: 3.6666666666666665, user_vote: null,
}

test('a rendered page is the JSON the page schema describes, with each caller\'s score in its place', () => {
  const [before, after] = renderItemParts(row, Date.parse('2026-12-01T10:02:00.000Z'))
  const [plainBefore, plainAfter] = renderItemParts({ ...row, id: 8, author_id: 3, vote_count: 0, average_vote: null }, null)
  const { head, tail } = renderEnvelope({ count: 2, next: 'http://h/api/contents/?page=2&page_size=2', previous: null, next_cursor: 'Yjg' })
  const page = JSON.parse(`${head}${before}4${after},${plainBefore}null${plainAfter}${tail}`)
  assert.ok(TypeCompiler.Compile(ContentPageSchema, [ContentItemSchema]).Check(page), 'matches ContentPageSchema')
  assert.deepEqual(page.results[0], { ...row, user_vote: 4, locked_until: '2026-12-01T10:02:00.000Z' })
  assert.deepEqual(page.results[1], { ...row, id: 8, author_id: 3, vote_count: 0, average_vote: null, user_vote: null, locked_until: null })
  assert.deepEqual(Object.keys(page.results[0]), Object.keys(ContentItemSchema.properties))
  assert.deepEqual([page.count, page.next, page.previous, page.next_cursor], [2, 'http://h/api/contents/?page=2&page_size=2', null, 'Yjg'])
})
