import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildTestApp, uniqueName } from '../../test/helpers.js'

const read = (app: Awaited<ReturnType<typeof buildTestApp>>, ip: string) =>
  app.inject({ method: 'GET', url: '/api/contents/?page_size=1', remoteAddress: ip })
const login = (app: Awaited<ReturnType<typeof buildTestApp>>, ip: string) =>
  app.inject({
    method: 'POST', url: '/api/auth/', remoteAddress: ip, payload: { username: uniqueName('nobody'), password: 'not-the-password' },
  })

test('reads past RATE_LIMIT_PER_MINUTE are refused with 429 rate_limited and Retry-After, per client', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_PER_MINUTE: '3' })
  for (let i = 0; i < 3; i++) assert.equal((await read(app, '10.1.1.1')).statusCode, 200)
  const limited = await read(app, '10.1.1.1')
  assert.equal(limited.statusCode, 429)
  assert.equal(limited.json().code, 'rate_limited')
  assert.ok(Number(limited.headers['retry-after']) >= 59)
  assert.equal((await read(app, '10.1.1.2')).statusCode, 200, 'another client has its own count')
})

test('with API_PROCESSES=2 each process allows its half of the general limit', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_PER_MINUTE: '4', API_PROCESSES: '2' })
  for (let i = 0; i < 2; i++) assert.equal((await read(app, '10.1.1.3')).statusCode, 200)
  assert.equal((await read(app, '10.1.1.3')).statusCode, 429)
})

test('the login limit is one count for every process: two instances on one Redis share it', async (t) => {
  const env = { RATE_LIMIT_AUTH_PER_MINUTE: '2', REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName()}:` }
  const [a, b] = [await buildTestApp(t, env), await buildTestApp(t, env)]
  assert.equal((await login(a, '10.2.2.2')).statusCode, 401)
  assert.equal((await login(b, '10.2.2.2')).statusCode, 401)
  const limited = await login(a, '10.2.2.2')
  assert.equal(limited.statusCode, 429)
  assert.equal(limited.json().code, 'rate_limited')
  assert.equal((await login(b, '10.2.2.2')).statusCode, 429)
})

test('addresses of one IPv6 /64 share the general limit, other /64s do not; a mapped IPv4 address counts as the IPv4 one', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_PER_MINUTE: '2' })
  assert.equal((await read(app, '2001:db8:aa:1::1')).statusCode, 200)
  assert.equal((await read(app, '2001:db8:aa:1:ffff:ffff:ffff:ffff')).statusCode, 200)
  assert.equal((await read(app, '2001:db8:aa:1:1234::5')).statusCode, 429, 'a new address in the same /64 buys no new budget')
  assert.equal((await read(app, '2001:db8:aa:2::1')).statusCode, 200, 'the next /64 is another client')
  assert.equal((await read(app, '::ffff:192.0.2.44')).statusCode, 200)
  assert.equal((await read(app, '192.0.2.44')).statusCode, 200)
  assert.equal((await read(app, '::ffff:192.0.2.44')).statusCode, 429)
  assert.equal((await read(app, '192.0.2.45')).statusCode, 200)
})

test('addresses of one IPv6 /64 share the login limit, other /64s do not', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_AUTH_PER_MINUTE: '2', REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName()}:` })
  assert.equal((await login(app, '2001:db8:bb:1::1')).statusCode, 401)
  assert.equal((await login(app, '2001:db8:bb:1::2')).statusCode, 401)
  const limited = await login(app, '2001:db8:bb:1:9::3')
  assert.equal(limited.statusCode, 429)
  assert.equal(limited.json().code, 'rate_limited')
  assert.equal((await login(app, '2001:db8:bb:2::1')).statusCode, 401)
})

test('registrations and logins are counted apart: registering does not use up the login budget', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_AUTH_PER_MINUTE: '2', REDIS_PREFIX: `${process.env.REDIS_PREFIX}${uniqueName()}:` })
  const register = () => app.inject({
    method: 'POST', url: '/api/register/', remoteAddress: '10.3.3.3',
    payload: { username: uniqueName(), password: 'correct horse battery' },
  })
  assert.equal((await register()).statusCode, 201)
  assert.equal((await register()).statusCode, 201)
  assert.equal((await register()).statusCode, 429, 'registrations keep their own limit')
  assert.equal((await login(app, '10.3.3.3')).statusCode, 401)
  assert.equal((await login(app, '10.3.3.3')).statusCode, 401)
  assert.equal((await login(app, '10.3.3.3')).statusCode, 429, 'logins keep theirs')
})
