// Errors raised before any route runs (the router, Node's HTTP parser) get the same JSON shape and
// stable codes as every other error.
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
