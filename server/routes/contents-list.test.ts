// Listing contents: order, count and both ways of paging. Each test that counts or walks the whole
// list gets an empty database of its own: other test files add contents to the shared one meanwhile.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { App } from '../app.js'
import { buildTestApp, createContent, emptyDatabase, uniqueName } from '../../test/helpers.js'

interface Page { count: number; next: string | null; previous: string | null; next_cursor: string | null; results: { id: number }[] }

/** An app on a fresh empty database, with its own Redis prefix so no other test's content locks show up. */
async function emptyApp(t: TestContext): Promise<App> {
  const url = await emptyDatabase(t)
  return buildTestApp(t, { DATABASE_URL: url, REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName()}:` })
}

/** Creates `n` contents one after another and returns their ids, oldest first. */
async function createMany(app: App, n: number): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < n; i++) ids.push((await createContent(app)).id)
  return ids
}

async function getPage(app: App, url: string): Promise<Page> {
  const res = await app.inject({ method: 'GET', url })
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
  return res.json()
}

/** Follows an absolute link the API handed out; it must point back at this list. */
function pathOf(link: string): string {
  const url = new URL(link)
  assert.match(url.protocol, /^https?:$/)
  assert.equal(url.pathname, '/api/contents/')
  return `${url.pathname}${url.search}`
}

test('an empty list is a 200 with count 0 and no links', async (t) => {
  const app = await emptyApp(t)
  assert.deepEqual(await getPage(app, '/api/contents/'), { count: 0, next: null, previous: null, next_cursor: null, results: [] })
})

test('the list is newest first and its count grows by exactly the number created', async (t) => {
  const app = await emptyApp(t)
  const first = await createMany(app, 2)
  assert.equal((await getPage(app, '/api/contents/')).count, 2)
  const more = await createMany(app, 3)
  const page = await getPage(app, '/api/contents/')
  assert.equal(page.count, 5)
  assert.deepEqual(page.results.map((r) => r.id), [...first, ...more].reverse())
})

test('pages hold 50 items by default and at most 100', async (t) => {
  const app = await emptyApp(t)
  await createMany(app, 101)
  const byDefault = await getPage(app, '/api/contents/')
  assert.equal(byDefault.results.length, 50)
  assert.equal(byDefault.count, 101)
  assert.match(byDefault.next ?? '', /[?&]page=2(&|$)/)
  const largest = await getPage(app, '/api/contents/?page_size=100')
  assert.equal(largest.results.length, 100)
  assert.notEqual(largest.next, null)
  const last = await getPage(app, pathOf(largest.next!))
  assert.equal(last.results.length, 1)
  assert.equal(last.next, null)
})

test('a bad page or page size is refused with 400 invalid_request', async (t) => {
  const app = await buildTestApp(t)
  const bad = ['page_size=101', 'page_size=0', 'page_size=-1', 'page_size=x', 'page_size=1.5', 'page=0', 'page=-1', 'page=x',
    'page=1.5', 'page=1e1', 'page=0x2', 'page_size=1e1', 'page=10001']
  for (const query of bad) {
    const res = await app.inject({ method: 'GET', url: `/api/contents/?${query}` })
    assert.equal(res.statusCode, 400, query)
    assert.equal(res.json().code, 'invalid_request', query)
  }
})

test('a page past the end answers 404 page_not_found', async (t) => {
  const app = await emptyApp(t)
  await createMany(app, 4)
  assert.equal((await getPage(app, '/api/contents/?page=2&page_size=3')).results.length, 1)
  // The deepest pages numbers reach (page × page_size = 10,000) are still answered: 404 here, the list being short.
  for (const query of ['page=3&page_size=3', 'page=2', 'page=200', 'page=100&page_size=100', 'page=10000&page_size=1']) {
    const res = await app.inject({ method: 'GET', url: `/api/contents/?${query}` })
    assert.equal(res.statusCode, 404, query)
    assert.equal(res.json().code, 'page_not_found', query)
  }
})

test('page numbers reach the first 10,000 items: a deeper page is 400 page_too_deep pointing to cursors, which go on', async (t) => {
  const app = await emptyApp(t)
  await createMany(app, 3)
  for (const query of ['page=201', 'page=101&page_size=100', 'page=334&page_size=30', 'page=10000&page_size=2']) {
    const res = await app.inject({ method: 'GET', url: `/api/contents/?${query}` })
    assert.equal(res.statusCode, 400, query)
    assert.equal(res.json().code, 'page_too_deep', query)
    assert.match(res.json().message, /10000 items.*\?cursor=.*next_cursor/, query)
  }
  const first = await getPage(app, '/api/contents/?page_size=2')
  const deep = await getPage(app, `/api/contents/?cursor=${first.next_cursor}&page_size=2&page=10000`)
  assert.equal(deep.results.length, 1, 'with a cursor, page is ignored')
})

test('next links walk every item exactly once by page number, and previous links walk back', async (t) => {
  const app = await emptyApp(t)
  const newestFirst = (await createMany(app, 7)).reverse()
  const seen: number[] = []
  const pages: Page[] = []
  let url: string | null = '/api/contents/?page_size=3'
  while (url !== null) {
    const page: Page = await getPage(app, url)
    pages.push(page)
    seen.push(...page.results.map((r) => r.id))
    if (page.next !== null) assert.match(page.next, new RegExp(`[?&]page=${pages.length + 1}(&|$)`))
    url = page.next === null ? null : pathOf(page.next)
  }
  assert.deepEqual(seen, newestFirst)
  assert.equal(pages.length, 3)
  assert.equal(pages[0]!.previous, null)

  const back: number[] = []
  url = pathOf(pages[2]!.previous!)
  while (url !== null) {
    const page: Page = await getPage(app, url)
    back.unshift(...page.results.map((r) => r.id))
    url = page.previous === null ? null : pathOf(page.previous)
  }
  assert.deepEqual(back, newestFirst.slice(0, 6))
})

test('next_cursor from a numbered page continues the walk by cursor, and previous walks back to the start', async (t) => {
  const app = await emptyApp(t)
  const newestFirst = (await createMany(app, 7)).reverse()
  const first = await getPage(app, '/api/contents/?page_size=3')
  assert.notEqual(first.next_cursor, null)
  const seen = first.results.map((r) => r.id)
  const pages: Page[] = []
  let url: string | null = `/api/contents/?cursor=${first.next_cursor}&page_size=3`
  while (url !== null) {
    const page: Page = await getPage(app, url)
    pages.push(page)
    seen.push(...page.results.map((r) => r.id))
    if (page.next !== null) assert.match(page.next, /[?&]cursor=/)
    assert.equal(page.next_cursor === null, page.next === null)
    url = page.next === null ? null : pathOf(page.next)
  }
  assert.deepEqual(seen, newestFirst)
  assert.equal(pages.length, 2)

  const back: number[] = []
  let previous = pages[pages.length - 1]!.previous
  while (previous !== null) {
    const page = await getPage(app, pathOf(previous))
    back.unshift(...page.results.map((r) => r.id))
    previous = page.previous
  }
  assert.deepEqual(back, newestFirst.slice(0, 6), 'walking back ends at the newest item, then previous is null')
})

test('a cursor walk over an exact multiple of the page size ends without an empty page', async (t) => {
  const app = await emptyApp(t)
  const newestFirst = (await createMany(app, 6)).reverse()
  const first = await getPage(app, '/api/contents/?page_size=3')
  const second = await getPage(app, `/api/contents/?cursor=${first.next_cursor}&page_size=3`)
  assert.deepEqual([...first.results, ...second.results].map((r) => r.id), newestFirst)
  assert.equal(second.next, null)
  assert.equal(second.next_cursor, null)
})

test('a cursor this API did not make is refused with 400 invalid_cursor', async (t) => {
  const app = await buildTestApp(t)
  const forged = ['abc', '', 'zzzz', Buffer.from('b0').toString('base64url'), Buffer.from('x5').toString('base64url'),
    `${Buffer.from('b5').toString('base64url')}=`]
  for (const cursor of forged) {
    const res = await app.inject({ method: 'GET', url: `/api/contents/?cursor=${encodeURIComponent(cursor)}` })
    assert.equal(res.statusCode, 400, JSON.stringify(cursor))
    assert.equal(res.json().code, 'invalid_cursor', JSON.stringify(cursor))
  }
})

test('list items carry the same fields as the item itself', async (t) => {
  const app = await emptyApp(t)
  const created = await createContent(app)
  const page = await getPage(app, '/api/contents/')
  const detail = await app.inject({ method: 'GET', url: `/api/contents/${created.id}/` })
  assert.deepEqual(page.results, [detail.json()])
})
