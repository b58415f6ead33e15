// The entry-id ↔ version encoding: ids as two numbers within their bounds, versions that order like the ids,
// trim thresholds as the version below them, and the SQL fragment computing on PostgreSQL what entryVersion does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'drizzle-orm'
import { openDb } from '../test/consumer-helpers.js'
import { entryVersion, parseEntryId, thresholdVersion, versionSql } from './entry-version.js'

test('an entry id is ms * 2^21 + seq, within int8, or refused', () => {
  const cases: [string, [number, number] | null][] = [
    ['0-0', [0, 0]],
    ['0-1', [0, 1]],
    ['1700000000000-12', [1700000000000, 12]],
    ['4398046511103-2097151', [2 ** 42 - 1, 2 ** 21 - 1]], // the largest: 2^63 - 1
    ['4398046511104-0', null], // ms ≥ 2^42: the year 2109
    ['1-2097152', null], // seq ≥ 2^21
    ['1-18446744073709551615', null],
    ['99999999999999-0', null],
    ['not-an-id', null], ['1', null], ['-1', null], ['1-', null], ['1-2-3', null], ['1.5-0', null], [' 1-0', null], ['1e3-0', null],
  ]
  for (const [id, expected] of cases) assert.deepEqual(parseEntryId(id), expected, id)
  assert.equal(entryVersion('4398046511103-2097151'), 2n ** 63n - 1n)
  assert.equal(entryVersion('1700000000000-3'), 1700000000000n * 2n ** 21n + 3n)
})

test('thresholdVersion: trim.lua\'s "<ms>-<seq>" as the version every entry below it is below', () => {
  assert.equal(thresholdVersion('0-0'), null, 'nothing acknowledged')
  assert.equal(thresholdVersion('1000-0'), entryVersion('1000-0'))
  assert.equal(thresholdVersion('1000-7'), entryVersion('1000-7'))
  assert.equal(thresholdVersion('1000-2097152'), entryVersion('1001-0'), 'one past the last sequence number of a millisecond')
  assert.equal(thresholdVersion('99999999999999-1'), null, 'beyond the versions')
})

test('versionSql computes on PostgreSQL the version entryVersion computes, up to the largest int8', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!, 1)
  const ids = ['0-0', '9-0', '10-10', '1700000000000-3', '4398046511103-2097151']
  const parts = ids.map((id) => parseEntryId(id)!)
  const rows = await db.execute<{ version: string }>(sql`
    select (${sql.raw(versionSql('i.ms', 'i.seq'))})::text as version
    from unnest(${sql.param(parts.map(([ms]) => ms))}::int8[], ${sql.param(parts.map(([, seq]) => seq))}::int8[])
      with ordinality as i(ms, seq, n)
    order by i.n`)
  assert.deepEqual(rows.map((r) => BigInt(r.version)), ids.map((id) => entryVersion(id)))
  assert.equal(versionSql('i.ms', 'i.seq'), 'i.ms * 2097152 + i.seq', 'the text apply\'s prepared statement has always had')
})
