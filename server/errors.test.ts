import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ERROR_CODES, contentLocked, invalidCursor, pageNotFound, serviceUnavailable } from './errors.js'

test('a named error carries the status its code has in the table', () => {
  for (const err of [pageNotFound(), invalidCursor(), contentLocked(3), serviceUnavailable('redis')]) {
    assert.equal(err.statusCode, ERROR_CODES[err.code].status, err.code)
  }
  assert.deepEqual([pageNotFound().statusCode, invalidCursor().statusCode], [404, 400])
  assert.equal(contentLocked(3).headers['retry-after'], '3')
})

test('the error table of docs/api.md lists every code with its status, and no other', () => {
  const api = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8')
  const section = api.slice(api.indexOf('\n## Errors'))
  const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map(([, code, status]) => `${code} ${status}`)
  const table = Object.entries(ERROR_CODES).map(([code, { status }]) => `${code} ${status}`)
  assert.deepEqual(rows.sort(), table.sort())
})
