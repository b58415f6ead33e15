// Creating and reading one content item. Listing and paging: contents-list.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { App } from '../app.js'
import { sql } from 'drizzle-orm'
import { bearer, buildTestApp, createContent, registerUser, uniqueName } from '../../test/helpers.js'

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
const create = (app: App, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/api/contents/', payload: payload as object, headers })

test('anyone can create content: 201 with no author, no votes and no lock', async (t) => {
  const app = await buildTestApp(t)
  const title = uniqueName('title')
  const res = await create(app, { title, description: 'some words' })
  assert.equal(res.statusCode, 201)
  const item = res.json()
  assert.ok(Number.isInteger(item.id) && item.id > 0)
  assert.equal(item.title, title)
  assert.equal(item.description, 'some words')
  assert.equal(item.author_id, null)
  assert.equal(item.vote_count, 0)
  assert.equal(item.average_vote, null)
  assert.equal(item.user_vote, null)
  assert.equal(item.locked_until, null)
  assert.match(item.created_at, ISO_WITH_ZONE)
  assert.ok(Math.abs(Date.parse(item.created_at) - Date.now()) < 10 * 60_000, 'created_at is about now')
})

test('the description is optional and defaults to an empty string', async (t) => {
  const app = await buildTestApp(t)
  const res = await create(app, { title: uniqueName('title') })
  assert.equal(res.statusCode, 201)
  assert.equal(res.json().description, '')
})

test('content created with an access token records its author', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  const res = await create(app, { title: uniqueName('title') }, bearer(user.access))
  assert.equal(res.statusCode, 201)
  assert.equal(res.json().author_id, user.id)
  const read = await app.inject({ method: 'GET', url: `/api/contents/${res.json().id}/`, headers: bearer(user.access) })
  assert.equal(read.json().author_id, user.id)
  assert.equal(read.json().user_vote, null)
})

test('a content body that breaks the rules is refused with 400 invalid_request', async (t) => {
  const app = await buildTestApp(t)
  const bad: Record<string, unknown> = {
    'missing title': { description: 'x' },
    'empty title': { title: '' },
    'blank title': { title: '   ' },
    'tab and newline title': { title: '\t\n' },
    '256-character title': { title: 't'.repeat(256) },
    'number title': { title: 42 },
    'null description': { title: 'ok', description: null },
    '10001-character description': { title: 'ok', description: 'd'.repeat(10_001) },
    'unknown extra field': { title: 'ok', author_id: 1 },
    'NUL in the title': { title: 'a\u0000b' },
    'NUL in the description': { title: 'ok', description: 'x\u0000' },
    'a 16,000-space title (refused, and fast)': { title: ' '.repeat(16_000) },
    'a lone surrogate in the title': { title: 'a\ud800b' },
    'a lone surrogate in the description': { title: 'ok', description: '\udfff' },
  }
  for (const [why, payload] of Object.entries(bad)) {
    const res = await create(app, payload)
    assert.equal(res.statusCode, 400, why)
    assert.equal(res.json().code, 'invalid_request', why)
  }
})

test('titles of 255 characters, Unicode ones included, are kept exactly', async (t) => {
  const app = await buildTestApp(t)
  for (const title of ['t'.repeat(255), '😀'.repeat(255), ' padded title ']) {
    const res = await create(app, { title })
    assert.equal(res.statusCode, 201, title)
    const read = await app.inject({ method: 'GET', url: `/api/contents/${res.json().id}/` })
    assert.equal(read.json().title, title)
  }
})

test('a form-urlencoded content body is accepted', async (t) => {
  const app = await buildTestApp(t)
  const title = uniqueName('title')
  const res = await app.inject({
    method: 'POST', url: '/api/contents/', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ title, description: 'from a form' }).toString(),
  })
  assert.equal(res.statusCode, 201)
  assert.equal(res.json().title, title)
  assert.equal(res.json().description, 'from a form')
})

test('a content item reads back the same, with or without the trailing slash', async (t) => {
  const app = await buildTestApp(t)
  const created = await create(app, { title: uniqueName('title'), description: 'd' })
  for (const url of [`/api/contents/${created.json().id}/`, `/api/contents/${created.json().id}`]) {
    const res = await app.inject({ method: 'GET', url })
    assert.equal(res.statusCode, 200, url)
    assert.deepEqual(res.json(), created.json())
  }
})

test('an id that names no content answers 404 content_not_found', async (t) => {
  const app = await buildTestApp(t)
  for (const id of ['2147483647', '2147483646']) {
    const res = await app.inject({ method: 'GET', url: `/api/contents/${id}/` })
    assert.equal(res.statusCode, 404, id)
    assert.equal(res.json().code, 'content_not_found', id)
  }
})

test('an id that is not a positive 32-bit integer answers 400 invalid_request', async (t) => {
  const app = await buildTestApp(t)
  // Only plain decimal digits name an id: 0x10, 1e2 and " 1" are not 16, 100 and 1.
  for (const id of ['abc', '0', '-1', '2147483648', '1.5', '99999999999999999999', '0x10', '1e2', '%201', '+1', '0b1']) {
    const res = await app.inject({ method: 'GET', url: `/api/contents/${id}/` })
    assert.equal(res.statusCode, 400, id)
    assert.equal(res.json().code, 'invalid_request', id)
  }
})

test('a bad, expired or malformed bearer token is ignored on reads: 200 with user_vote null', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  const item = await createContent(app)
  const expired = app.jwt.sign({ sub: String(user.id), token_type: 'access', exp: Math.floor(Date.now() / 1000) - 60 })
  const headers = ['Bearer garbage', 'Bearer a.b.c', 'Bearer', 'Basic dXNlcjpwYXNz', `Bearer ${expired}`, `Bearer ${user.refresh}`,
    'Token x y']
  for (const authorization of headers) {
    for (const url of ['/api/contents/', `/api/contents/${item.id}/`]) {
      const res = await app.inject({ method: 'GET', url, headers: { authorization } })
      assert.equal(res.statusCode, 200, `${authorization} on ${url}`)
      const items = url === '/api/contents/' ? res.json().results : [res.json()]
      for (const it of items) assert.equal(it.user_vote, null)
    }
  }
})

test('detail reads arriving together are answered together, each with its own caller\'s user_vote', async (t) => {
  const app = await buildTestApp(t)
  const [alice, bob] = [await registerUser(app), await registerUser(app)]
  const [first, second] = [await createContent(app), await createContent(app)]
  // Rows as the consumer writes them; the reads under test only look them up.
  await app.db.execute(sql`insert into votes (user_id, content_id, score, version) values
    (${alice.id}, ${first.id}, 4, 1), (${bob.id}, ${first.id}, 1, 2), (${bob.id}, ${second.id}, 5, 3)`)
  const read = (id: number, token?: string) =>
    app.inject({ method: 'GET', url: `/api/contents/${id}/`, headers: token ? bearer(token) : {} })
  const answers = await Promise.all([
    read(first.id, alice.access), read(first.id, bob.access), read(second.id, bob.access), read(second.id, alice.access),
    read(first.id), read(2147483646, alice.access), read(second.id),
  ])
  assert.deepEqual(answers.map((r) => r.statusCode), [200, 200, 200, 200, 200, 404, 200])
  assert.deepEqual(answers.filter((r) => r.statusCode === 200).map((r) => [r.json().id, r.json().user_vote]), [
    [first.id, 4], [first.id, 1], [second.id, 5], [second.id, null], [first.id, null], [second.id, null],
  ])
})
