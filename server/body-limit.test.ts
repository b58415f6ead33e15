// Body limits derived from the routes' schemas: every documented maximum is accepted in any script and in each
// encoding a real client sends (raw UTF-8 JSON, JSON with \uXXXX escapes, form encoding); past the route's
// limit a body is 413 body_too_large, and the message names that limit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { sql } from 'drizzle-orm'
import { Type } from '@fastify/type-provider-typebox'
import { buildTestApp, uniqueName } from '../test/helpers.js'
import type { App } from './app.js'
import { bodyLimitOf, largestBody } from './body-limit.js'

type Fields = Record<string, string>

/** Python's json.dumps with its default ensure_ascii: every non-ASCII UTF-16 unit as \uXXXX (12 bytes per emoji). */
const asciiJson = (fields: Fields) => JSON.stringify(fields).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

const ENCODINGS: [string, string, (fields: Fields) => string][] = [
  ['raw UTF-8 JSON', 'application/json', (fields) => JSON.stringify(fields)],
  ['ASCII-escaped JSON', 'application/json', asciiJson],
  ['form-encoded', 'application/x-www-form-urlencoded', (fields) => new URLSearchParams(fields).toString()],
]

const post = (app: App, url: string, type: string, payload: string) =>
  app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload })

test('a body\'s largest size counts every character of its longest fields at 12 bytes; unbounded fields are refused at start-up', () => {
  const schema = Type.Object({
    a: Type.String({ maxLength: 10 }), n: Type.Integer(), e: Type.Union([Type.Literal(''), Type.String({ maxLength: 3 })]),
  })
  assert.equal(largestBody(schema), 2 + (4 + 12 + 2 + 120) + (4 + 12 + 24) + (4 + 12 + 2 + 36))
  assert.equal(bodyLimitOf(schema, 16 * 1024), 16 * 1024, 'never below the default')
  assert.equal(bodyLimitOf(Type.Object({ d: Type.String({ maxLength: 10_000 }) }), 16 * 1024), 119 * 1024,
    '120,020 bytes and the slack, in whole KiB')
  assert.throws(() => largestBody(Type.Object({ free: Type.String() })), /body\.free is a string without maxLength/)
})

test('a description of 10,000 é, 日 or 😀 and a title of 255 are accepted in raw JSON, escaped JSON and form encoding, ' +
  'and read back equal', async (t) => {
  const app = await buildTestApp(t)
  for (const character of ['é', '日', '😀']) {
    const fields = { title: character.repeat(255), description: character.repeat(10_000) }
    for (const [encoding, type, encode] of ENCODINGS) {
      const body = encode(fields)
      const res = await post(app, '/api/contents/', type, body)
      assert.equal(res.statusCode, 201, `${character} ${encoding} (${Buffer.byteLength(body)} bytes): ${res.body.slice(0, 200)}`)
      const read = (await app.inject({ url: `/api/contents/${res.json().id}/` })).json()
      assert.ok(read.title === fields.title && read.description === fields.description, `${character} ${encoding} reads back equal`)
    }
  }
})

test('registration with every field at its maximum, in characters of up to 4 UTF-8 bytes, is accepted in each encoding ' +
  'and logs in', async (t) => {
  const app = await buildTestApp(t)
  // The local part's punctuation is percent-encoded in a form (3 bytes each); an address has no non-ASCII form.
  const email = `${"!#$%&'*+/=?^_`{|}~-".repeat(4).slice(0, 64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`
  assert.equal(email.length, 254)
  // CJK letters outside the BMP (Django's username rule takes any letter), one per encoding so each account is new.
  for (const [i, [encoding, type, encode]] of ENCODINGS.entries()) {
    const fields = {
      username: String.fromCodePoint(0x20000 + i).repeat(150), password: '😀'.repeat(1024), email,
      first_name: '😀'.repeat(150), last_name: '𝄞'.repeat(150),
    }
    const body = encode(fields)
    const res = await post(app, '/api/register/', type, body)
    assert.equal(res.statusCode, 201, `${encoding} (${Buffer.byteLength(body)} bytes): ${res.body.slice(0, 200)}`)
    assert.equal(res.json().username, fields.username, encoding)
    const login = await post(app, '/api/auth/', type, encode({ username: fields.username, password: fields.password }))
    assert.equal(login.statusCode, 200, `${encoding}: the password reads back equal`)
    const [row] = await app.db.execute<{ email: string; first_name: string; last_name: string }>(
      sql`select email, first_name, last_name from users where id = ${res.json().id as number}`)
    assert.deepEqual(row, { email, first_name: fields.first_name, last_name: fields.last_name }, encoding)
  }
})

test('a body over its route\'s limit is 413 body_too_large naming the limit, and the limit is exact', async (t) => {
  const app = await buildTestApp(t)
  const api = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8').replace(/\s+/g, ' ')
  for (const url of ['/api/contents/', '/api/register/', '/api/auth/refresh/', '/api/auth/']) {
    const huge = await post(app, url, 'application/json',
      JSON.stringify({ title: uniqueName(), username: 'x', description: 'x'.repeat(300_000) }))
    assert.equal(huge.statusCode, 413, url)
    assert.equal(huge.json().code, 'body_too_large', url)
    const limit = Number(/^body exceeds this route's limit of (\d+) bytes$/.exec(huge.json().message)?.[1])
    assert.ok(limit >= 16 * 1024, `${url}: ${huge.json().message}`)
    const stated = limit === 16 * 1024 ? 'every other route 16,384 bytes' : `\`POST ${url}\` ${limit.toLocaleString('en')} bytes`
    assert.ok(api.includes(stated), `docs/api.md states ${url}'s limit, ${limit} bytes`)
    // Exactly the limit is read (and refused by validation: the field is too long); one byte more is not.
    const sized = (bytes: number) => {
      const head = '{"title":"t","description":"'
      return `${head}${'x'.repeat(bytes - head.length - 2)}"}`
    }
    assert.equal((await post(app, url, 'application/json', sized(limit))).json().code, 'invalid_request', url)
    assert.equal((await post(app, url, 'application/json', sized(limit + 1))).json().code, 'body_too_large', url)
  }
})
