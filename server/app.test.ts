// What buildApp sets up for every request: errors raised before any route runs (the router, Node's HTTP
// parser) get the same JSON shape and stable codes as every other error, an unknown route is a JSON 404,
// and every response carries a request id.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { buildTestApp } from '../test/helpers.js'

test('a path that is not valid percent-encoding, or an id far too long, is 400 invalid_request', async (t) => {
  const app = await buildTestApp(t)
  for (const url of ['/api/contents/%/', '/api/contents/%zz/', `/api/contents/${'9'.repeat(101)}/`]) {
    const res = await app.inject({ url })
    assert.equal(res.statusCode, 400, url)
    assert.equal(res.json().code, 'invalid_request', url)
    assert.equal(res.json().statusCode, 400, url)
    assert.ok(res.headers['x-request-id'], url)
  }
})

/** Send raw bytes to a listening app and return the status line and the JSON body. */
async function raw(port: number, request: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const socket = connect(port, '127.0.0.1')
  socket.end(request)
  let text = ''
  for await (const chunk of socket) text += chunk
  const [head = '', payload = ''] = text.split('\r\n\r\n')
  return { status: Number(head.split(' ')[1]), body: JSON.parse(payload) as Record<string, unknown> }
}

test('malformed HTTP and oversized headers are answered in the JSON error shape with a stable code', async (t) => {
  const app = await buildTestApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const malformed = await raw(port, 'GET /api/contents/ HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n')
  assert.deepEqual([malformed.status, malformed.body.statusCode, malformed.body.code], [400, 400, 'invalid_request'])
  const big = await raw(port, `GET /api/contents/?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
  assert.deepEqual([big.status, big.body.statusCode, big.body.code], [431, 431, 'headers_too_large'])
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

test('an unknown route answers a JSON 404 not_found', async (t) => {
  const app = await buildTestApp(t)
  for (const [method, url] of [['GET', '/nope'], ['POST', '/api/nope/'], ['DELETE', '/api/contents/']] as const) {
    const res = await app.inject({ method, url })
    assert.equal(res.statusCode, 404, `${method} ${url}`)
    assert.match(String(res.headers['content-type']), /^application\/json/)
    assert.equal(res.json().code, 'not_found', `${method} ${url}`)
  }
})

test('every response carries an x-request-id, errors and 404s included', async (t) => {
  const app = await buildTestApp(t)
  const responses = [
    await app.inject({ method: 'GET', url: '/health/live' }),
    await app.inject({ method: 'GET', url: '/nope' }),
    await app.inject({ method: 'GET', url: '/api/contents/abc/' }),
  ]
  for (const res of responses) assert.match(String(res.headers['x-request-id']), UUID)
  assert.notEqual(responses[0]!.headers['x-request-id'], responses[1]!.headers['x-request-id'])
})

test('a sane incoming x-request-id is echoed, anything else is replaced', async (t) => {
  const app = await buildTestApp(t)
  const sane = 'edge-01:req.42_A'
  const echoed = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': sane } })
  assert.equal(echoed.headers['x-request-id'], sane)
  for (const insane of ['has spaces in it', 'x'.repeat(65), '<script>', 'é']) {
    const res = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': insane } })
    assert.match(String(res.headers['x-request-id']), UUID, insane)
  }
})
