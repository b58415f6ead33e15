import { test } from 'node:test'
import assert from 'node:assert/strict'
import { normalizeIP } from '@fastify/rate-limit'
import { buildTestApp, uniqueName } from '../test/helpers.js'
import { clientNetwork } from './client-address.js'

test('an IPv6 address counts as its /64, an IPv4 address (mapped or not) as itself, however it is written', () => {
  const same: [string, string][] = [
    ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff'],
    ['2001:db8:1:2::1', '2001:0DB8:0001:0002:0000:0000:0000:0009'],
    ['2001:db8::5', '2001:db8:0:0:1:2:3:4'],
    ['2001:db8:1:2:3:4:5.6.7.8', '2001:db8:1:2::'],
    ['fe80::1%eth0', 'fe80::2'],
    ['::1', '::2'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::FFFF:192.0.2.7', '192.0.2.7'],
    ['::ffff:c000:207', '192.0.2.7'],
    ['0:0:0:0:0:ffff:192.0.2.7', '192.0.2.7'],
  ]
  for (const [a, b] of same) assert.equal(clientNetwork(a), clientNetwork(b), `${a} and ${b}`)
  const apart: [string, string][] = [
    ['2001:db8:1:2::1', '2001:db8:1:3::1'],
    ['2001:db8::1', '2001:db9::1'],
    ['192.0.2.7', '192.0.2.8'],
    ['::ffff:192.0.2.7', '::ffff:192.0.2.8'],
    ['::ffff:192.0.2.7', '2001:db8::c000:207'],
  ]
  for (const [a, b] of apart) assert.notEqual(clientNetwork(a), clientNetwork(b), `${a} and ${b}`)
  assert.equal(clientNetwork('192.0.2.7'), '192.0.2.7')
  assert.equal(clientNetwork('not an address'), 'not an address', 'a malformed forwarded entry counts as written')
})

test('clientNetwork puts two random addresses together exactly when @fastify/rate-limit normalizeIP(ip, 64) does', () => {
  const group = () => (Math.random() < 0.3 ? 0 : Math.floor(Math.random() * 0x10000)).toString(16)
  const groups = (n: number) => Array.from({ length: n }, group)
  // The WHATWG URL parser writes an IPv6 address in its compressed form: a second spelling of the same address.
  const spell = (parts: string[]) => (Math.random() < 0.5 ? parts.join(':') : new URL(`http://[${parts.join(':')}]/`).hostname.slice(1, -1))
  for (let i = 0; i < 2000; i++) {
    const head = groups(4)
    const a = spell([...head, ...groups(4)])
    // Half the time the same /64, else a prefix that differs in one group.
    const otherHead = Math.random() < 0.5 ? head : head.map((g, n) => (n === i % 4 ? (parseInt(g, 16) ^ 1).toString(16) : g))
    const b = spell([...otherHead, ...groups(4)])
    assert.equal(clientNetwork(a) === clientNetwork(b), normalizeIP(a, 64) === normalizeIP(b, 64), `${a} and ${b}`)
    assert.equal(clientNetwork(a) === clientNetwork(b), otherHead === head, `${a} and ${b}`)
  }
})

type App = Awaited<ReturnType<typeof buildTestApp>>
const login = (app: App, remoteAddress: string, forwardedFor?: string) => app.inject({
  method: 'POST', url: '/api/auth/', remoteAddress,
  headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  payload: { username: uniqueName('nobody'), password: 'not-the-password' },
})
/** An app of its own Redis prefix (the login limit is counted in Redis) with a login limit of 2 a minute. */
const limitedApp = (t: Parameters<typeof buildTestApp>[0], trustProxy: string) =>
  buildTestApp(t, { TRUST_PROXY: trustProxy, RATE_LIMIT_AUTH_PER_MINUTE: '2', REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName()}:` })

test('TRUST_PROXY=1: the client is the entry the load balancer wrote; a left-most entry the client wrote changes nothing', async (t) => {
  const app = await limitedApp(t, '1')
  const balancer = '10.0.0.5'
  assert.equal((await login(app, balancer, '1.1.1.1, 203.0.113.9')).statusCode, 401)
  assert.equal((await login(app, balancer, '2.2.2.2, 203.0.113.9')).statusCode, 401)
  const third = await login(app, balancer, '3.3.3.3, 203.0.113.9')
  assert.equal(third.statusCode, 429, 'a new left-most entry does not buy a new budget')
  assert.equal(third.json().code, 'rate_limited')
  assert.equal((await login(app, balancer, '203.0.113.10')).statusCode, 401, 'another client behind the balancer has its own budget')
})

test('TRUST_PROXY as CIDRs: only the listed proxies\' X-Forwarded-For is believed', async (t) => {
  const app = await limitedApp(t, '10.0.0.0/8, 2001:db8:ffff::/48')
  // Through a listed proxy: the entry it appended is the client, whatever the client wrote before it.
  assert.equal((await login(app, '10.1.2.3', '1.1.1.1, 198.51.100.1')).statusCode, 401)
  assert.equal((await login(app, '2001:db8:ffff::7', '2.2.2.2, 198.51.100.1')).statusCode, 401)
  assert.equal((await login(app, '10.1.2.3', '198.51.100.1')).statusCode, 429)
  assert.equal((await login(app, '10.1.2.3', '198.51.100.2')).statusCode, 401, 'another client through the proxy')
  // Straight from a client: its own X-Forwarded-For is ignored, it is counted by its socket address.
  assert.equal((await login(app, '198.51.100.50', '4.4.4.4')).statusCode, 401)
  assert.equal((await login(app, '198.51.100.50', '5.5.5.5')).statusCode, 401)
  assert.equal((await login(app, '198.51.100.50', '6.6.6.6')).statusCode, 429)
})

test('TRUST_PROXY unset: X-Forwarded-For is ignored', async (t) => {
  const app = await limitedApp(t, '')
  assert.equal((await login(app, '198.51.100.60', '4.4.4.4')).statusCode, 401)
  assert.equal((await login(app, '198.51.100.60', '5.5.5.5')).statusCode, 401)
  assert.equal((await login(app, '198.51.100.60', '6.6.6.6')).statusCode, 429)
})
