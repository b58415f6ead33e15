// The list statement on a real PostgreSQL: what a numbered page costs, read from EXPLAIN ANALYZE's row counts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { emptyDatabase } from '../../test/helpers.js'
import { openDb } from '../../test/consumer-helpers.js'
import { listContents, pageQuery, type PageStart } from './content-queries.js'

interface PlanNode { 'Node Type': string; 'Relation Name'?: string; 'Actual Rows'?: number; 'Actual Loops'?: number; Plans?: PlanNode[] }

/** Index and heap entries the statement read from contents, summed over every scan node of its plan. */
function contentRowsRead(node: PlanNode): number {
  const own = node['Relation Name'] === 'contents' ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) : 0
  return own + (node.Plans ?? []).reduce((n, child) => n + contentRowsRead(child), 0)
}

test('a numbered page past the count reads no contents (one counter row), however deep; one inside it reads what it skips', async (t) => {
  const db = openDb(t, await emptyDatabase(t))
  await db.execute(sql`insert into contents (title) select 'c' || g from generate_series(1, 3000) g`)
  const rowsRead = async (start: PageStart, size: number) => {
    const explained = sql`explain (analyze, format json) ${pageQuery(start, size, null)}`
    const [row] = await db.execute<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(explained)
    return contentRowsRead(row!['QUERY PLAN'][0].Plan)
  }

  for (const offset of [3000, 3050, 9950, 1_000_000]) {
    assert.equal(await rowsRead({ offset }, 50), 0, `offset ${offset} of 3000`)
    assert.deepEqual(await listContents(db, { offset }, 50, null), { rows: [], hasMore: false, total: 3000 }, `offset ${offset}`)
  }
  // Inside the count the index-only scan still walks down to the page (what MAX_PAGE_ROWS bounds), then reads the page.
  assert.ok(await rowsRead({ offset: 2950 }, 50) >= 2950)
  const last = await listContents(db, { offset: 2950 }, 50, null)
  assert.deepEqual([last.rows.length, last.hasMore, last.total, last.rows[0]?.title, last.rows.at(-1)?.title],
    [50, false, 3000, 'c50', 'c1'])
})
