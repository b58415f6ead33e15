import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp } from '../../test/helpers.js'
import type { App } from '../app.js'
import { ERROR_CODES, type ErrorCode } from '../errors.js'

interface Reply { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: { $ref?: string } }> }
interface Operation {
  operationId?: string; description?: string; requestBody?: { content: Record<string, unknown> }; responses: Record<string, Reply>
}
interface Doc { components: { schemas: Record<string, unknown> }; paths: Record<string, Record<string, Operation>> }

const ERROR_REPLY = '#/components/schemas/ErrorReply'
const FORM = 'application/x-www-form-urlencoded'

async function openapi(t: Parameters<typeof buildTestApp>[0]): Promise<Doc> {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  assert.equal(res.statusCode, 200)
  return res.json() as Doc
}

const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })))
/** The codes an error reply's description names, as `- \`code\`: meaning` lines. */
const codesOf = (reply: Reply) => [...reply.description.matchAll(/^- `([a-z_]+)`:/gm)].map((m) => m[1] as ErrorCode)

test('/docs/json names its reply schemas as components, and the routes refer to them', async (t) => {
  const doc = await openapi(t)
  const names = ['ErrorReply', 'ContentItem', 'ContentPage', 'Account', 'TokenPair', 'AccessToken', 'VoteAccepted', 'VoteRetracted',
    'Liveness', 'Readiness']
  assert.deepEqual(Object.keys(doc.components.schemas).sort(), [...names].sort())
  const page = doc.components.schemas.ContentPage as { properties: { results: { items: { $ref: string } } } }
  assert.equal(page.properties.results.items.$ref, '#/components/schemas/ContentItem')
  const refOf = (path: string, method: string, status: string) =>
    doc.paths[path]![method]!.responses[status]!.content!['application/json']!.schema.$ref
  assert.equal(refOf('/api/contents/', 'get', '200'), '#/components/schemas/ContentPage')
  assert.equal(refOf('/api/contents/{id}/', 'get', '200'), '#/components/schemas/ContentItem')
  assert.equal(refOf('/api/auth/', 'post', '200'), '#/components/schemas/TokenPair')
  assert.equal(refOf('/api/vote/', 'post', '202'), '#/components/schemas/VoteAccepted')
})

test('every operation has a unique operationId and a description, and so has every reply', async (t) => {
  const ops = operations(await openapi(t))
  assert.ok(ops.length >= 9, 'every API route is documented')
  const ids = ops.map(({ name, op }) => {
    assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, `${name} has an operationId`)
    assert.ok(op.description, `${name} has a description`)
    for (const [status, reply] of Object.entries(op.responses)) {
      assert.ok(reply.description && reply.description !== 'Default Response', `${name} ${status} is described`)
    }
    return op.operationId
  })
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique')
})

test('every error reply names the codes it can carry, each with the status the error table gives it', async (t) => {
  const ops = operations(await openapi(t))
  for (const { name, op } of ops) {
    for (const [status, reply] of Object.entries(op.responses)) {
      if (Number(status) < 400) continue
      // The readiness probe's 503 is its own body (which dependency is down), not an ErrorReply.
      if (name === 'GET /health/ready' && status === '503') continue
      assert.equal(reply.content?.['application/json']?.schema.$ref, ERROR_REPLY, `${name} ${status} is an ErrorReply`)
      const codes = codesOf(reply)
      assert.ok(codes.length > 0, `${name} ${status} names its codes`)
      for (const code of codes) assert.equal(ERROR_CODES[code]?.status, Number(status), `${name} ${status}: ${code}`)
    }
  }
  const replies = (name: string) => ops.find((o) => o.name === name)!.op.responses
  assert.deepEqual(codesOf(replies('POST /api/vote/')['429']!).sort(), ['content_locked', 'rate_limited'])
  assert.deepEqual(codesOf(replies('POST /api/vote/')['401']!).sort(), ['not_authenticated', 'token_invalid'])
  assert.deepEqual(codesOf(replies('GET /api/contents/')['400']!).sort(), ['invalid_cursor', 'invalid_ordering', 'invalid_request',
    'page_too_deep'])
  assert.deepEqual(codesOf(replies('GET /api/contents/')['404']!), ['page_not_found'])
  type Parameter = { name: string; description?: string; schema: { maximum?: number } }
  const list = ops.find((o) => o.name === 'GET /api/contents/')!.op as Operation & { parameters: Parameter[] }
  const page = list.parameters.find((p) => p.name === 'page')!
  assert.equal(page.schema.maximum, 10_000)
  assert.match(page.description ?? '', /page × page_size over that is 400 page_too_deep; go deeper with cursors/, 'the page parameter says how deep it goes')
  assert.deepEqual(codesOf(replies('POST /api/register/')['409']!), ['username_taken'])
})

test('429 and 503 error replies declare Retry-After', async (t) => {
  const ops = operations(await openapi(t))
  let seen = 0
  for (const { name, op } of ops) {
    for (const status of ['429', '503']) {
      const reply = op.responses[status]
      if (!reply || reply.content?.['application/json']?.schema.$ref !== ERROR_REPLY) continue
      assert.ok(reply.headers?.['Retry-After'], `${name} ${status} declares Retry-After`)
      seen++
    }
  }
  assert.ok(seen >= 8, 'the limited routes and those behind PostgreSQL or Redis all have them')
})

test('request bodies list the form encoding beside JSON', async (t) => {
  const doc = await openapi(t)
  for (const path of ['/api/vote/', '/api/register/', '/api/auth/', '/api/auth/refresh/', '/api/contents/']) {
    const types = Object.keys(doc.paths[path]!.post!.requestBody!.content)
    assert.deepEqual(types, ['application/json', FORM], path)
  }
})

test('/docs/json is an OpenAPI document that lists the API routes', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  assert.equal(res.statusCode, 200)
  const doc = res.json()
  assert.match(doc.openapi, /^3\./)
  for (const path of ['/api/contents/', '/api/contents/{id}/', '/api/register/', '/api/auth/', '/api/auth/refresh/']) {
    assert.ok(path in doc.paths, `${path} is documented`)
  }
  assert.ok(doc.paths['/api/contents/'].get && doc.paths['/api/contents/'].post)
})

/** GET that follows redirects the way a browser would, a few hops at most. */
async function getFollowing(app: App, url: string) {
  let res = await app.inject({ method: 'GET', url })
  for (let hops = 0; hops < 3 && res.statusCode >= 300 && res.statusCode < 400; hops++) {
    res = await app.inject({ method: 'GET', url: new URL(String(res.headers.location), `http://localhost${url}`).pathname })
  }
  return res
}

test('/docs answers an HTML page', async (t) => {
  const app = await buildTestApp(t)
  const res = await getFollowing(app, '/docs')
  assert.equal(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /^text\/html/)
  assert.match(res.body, /<html/i)
})
