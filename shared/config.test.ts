// Every case passes its environment explicitly: the real process env never leaks in.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { ConfigError, EnvSchema, loadConfig } from './config.js'

const SECRET = 's'.repeat(32)

/** Asserts that loadConfig refuses `env` with a ConfigError whose message names `variable`. */
function assertRefused(env: Record<string, string>, variable: string) {
  assert.throws(() => loadConfig(env), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `${JSON.stringify(env)} throws a ConfigError`)
    assert.match(err.message, new RegExp(`\\b${variable}\\b`), `${JSON.stringify(env)}: "${err.message}" names ${variable}`)
    return true
  })
}

test('an empty environment gets the documented defaults', () => {
  const config = loadConfig({})
  assert.equal(config.PORT, 8003)
  assert.equal(config.NODE_ENV, 'development')
  assert.equal(config.VOTE_THRESHOLD_PERIOD, 60)
  assert.equal(config.VOTE_THRESHOLD_COUNT_LIMIT, 10)
  assert.equal(config.LOCK_DURATION, 120)
  assert.ok(config.RATE_LIMIT_AUTH_PER_MINUTE >= 1 && config.RATE_LIMIT_AUTH_PER_MINUTE <= 20)
  assert.match(config.DATABASE_URL, /^postgres(ql)?:\/\//)
  assert.match(config.REDIS_URL, /^rediss?:\/\//)
  assert.equal(config.PENDING_VOTES_MAX, 200_000)
})

test('numeric and boolean strings are converted to numbers and booleans', () => {
  const config = loadConfig({
    PORT: '9000', VOTE_THRESHOLD_COUNT_LIMIT: '25', LOCK_DURATION: '30', REDIS_AUTO_PIPELINING: 'false', JWT_SECRET: SECRET,
  })
  assert.equal(config.PORT, 9000)
  assert.equal(config.VOTE_THRESHOLD_COUNT_LIMIT, 25)
  assert.equal(config.LOCK_DURATION, 30)
  assert.equal(config.REDIS_AUTO_PIPELINING, false)
})

test('TRUST_PROXY takes false, a hop count, or the proxies\' addresses and CIDRs', () => {
  assert.equal(loadConfig({}).TRUST_PROXY, false)
  assert.equal(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY, false)
  assert.equal(loadConfig({ TRUST_PROXY: '0' }).TRUST_PROXY, false)
  assert.equal(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY, 1)
  assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.7,2001:db8::/32 , loopback' }).TRUST_PROXY,
    ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', 'loopback'])
})

test('TRUST_PROXY=true is refused at start-up with what to set instead', () => {
  assert.throws(() => loadConfig({ TRUST_PROXY: 'true' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError)
    assert.match(err.message, /invalid TRUST_PROXY: true would trust every hop/)
    assert.match(err.message, /1 behind one load balancer/)
    return true
  })
  for (const value of ['10.0.0.0/0', '10.0.0.0/33', '2001:db8::/129', '10.0.0.300', 'proxy.internal', '10.0.0.0/8,nonsense', '33']) {
    assertRefused({ TRUST_PROXY: value }, 'TRUST_PROXY')
  }
})

test('an empty variable counts as unset, so its default applies', () => {
  assert.equal(loadConfig({ PORT: '' }).PORT, 8003)
})

test('unknown variables are ignored and do not reach the config', () => {
  const config = loadConfig({ PATH: '/usr/bin', SOME_TYPO_PORTT: 'abc', HOME: '/root' }) as unknown as Record<string, unknown>
  assert.equal(config.PORT, 8003)
  assert.equal('PATH' in config, false)
  assert.equal('SOME_TYPO_PORTT' in config, false)
})

test('a bad value is refused with a ConfigError naming the variable', () => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '0' }, 'PORT'],
    [{ VOTE_THRESHOLD_COUNT_LIMIT: '0' }, 'VOTE_THRESHOLD_COUNT_LIMIT'],
    [{ VOTE_THRESHOLD_PERIOD: '-5' }, 'VOTE_THRESHOLD_PERIOD'],
    [{ LOCK_DURATION: 'forever' }, 'LOCK_DURATION'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    [{ PENDING_VOTES_MAX: '0' }, 'PENDING_VOTES_MAX'],
    [{ PENDING_VOTES_MAX: '20000000' }, 'PENDING_VOTES_MAX'],
  ]
  for (const [env, variable] of cases) assertRefused(env, variable)
})

test('a number that is not a plain decimal integer is refused, not truncated', () => {
  // LOCK_DURATION=1e3 meant as 1000 seconds must not quietly become a 1-second lock.
  const cases: [Record<string, string>, string][] = [
    [{ PORT: '80.5' }, 'PORT'],
    [{ LOCK_DURATION: '1e3' }, 'LOCK_DURATION'],
    [{ VOTE_THRESHOLD_COUNT_LIMIT: '0x10' }, 'VOTE_THRESHOLD_COUNT_LIMIT'],
  ]
  for (const [env, variable] of cases) assertRefused(env, variable)
})

test('the first bad variable is named even when others are fine', () => {
  assertRefused({ PORT: '8080', LOCK_DURATION: '0', JWT_SECRET: SECRET }, 'LOCK_DURATION')
})

test('production refuses to start without a JWT_SECRET, or with a short one', () => {
  assertRefused({ NODE_ENV: 'production' }, 'JWT_SECRET')
  assertRefused({ NODE_ENV: 'production', JWT_SECRET: 'short' }, 'JWT_SECRET')
  assertRefused({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(31) }, 'JWT_SECRET')
})

test('production keeps a long enough JWT_SECRET as given, without warnings', () => {
  const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET })
  assert.equal(config.JWT_SECRET, SECRET)
  assert.deepEqual(config.warnings, [])
})

test('development without a JWT_SECRET gets a random one and a warning', () => {
  const a = loadConfig({ NODE_ENV: 'development' })
  const b = loadConfig({})
  assert.ok(a.JWT_SECRET.length >= 32)
  assert.notEqual(a.JWT_SECRET, b.JWT_SECRET)
  assert.equal(a.warnings.length, 1)
  assert.match(a.warnings[0]!, /JWT_SECRET/)
  const short = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'short' })
  assert.notEqual(short.JWT_SECRET, 'short')
  assert.match(short.warnings[0]!, /JWT_SECRET/)
})

test('the error message never repeats the JWT_SECRET it refuses', () => {
  assert.throws(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'hunter2-secret' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError)
    assert.ok(!err.message.includes('hunter2-secret'), err.message)
    return true
  })
})

test('API_PROCESSES is 1 by default, a whole number when given one, and one per core for auto', () => {
  assert.equal(loadConfig({}).API_PROCESSES, 1)
  assert.equal(loadConfig({ API_PROCESSES: '4' }).API_PROCESSES, 4)
  assert.equal(loadConfig({ API_PROCESSES: 'auto' }).API_PROCESSES, Math.min(64, availableParallelism()))
  for (const bad of ['0', '65', '-1', '2.5', '1e1', 'many', 'AUTO']) assertRefused({ API_PROCESSES: bad }, 'API_PROCESSES')
  assert.throws(() => loadConfig({ API_PROCESSES: '0' }), /expected "auto" or a whole number from 1 to 64/)
})

test('metrics listen on loopback port 9464 by default, and METRICS_PORT may not be the API\'s own PORT', () => {
  const config = loadConfig({})
  assert.deepEqual([config.METRICS_HOST, config.METRICS_PORT, config.CONSUMER_METRICS_PORT], ['127.0.0.1', 9464, 9465])
  assert.equal(loadConfig({ METRICS_PORT: '0' }).METRICS_PORT, 0, '0 turns the listener off')
  assertRefused({ PORT: '9000', METRICS_PORT: '9000' }, 'METRICS_PORT')
  assertRefused({ PORT: '9464' }, 'METRICS_PORT')
})

test('the config is frozen: nothing can change a setting after start-up', () => {
  const config = loadConfig({ JWT_SECRET: SECRET })
  assert.ok(Object.isFrozen(config))
  assert.throws(() => { (config as { PORT: number }).PORT = 1 }, TypeError)
})

test('every setting is listed in .env.example and in the settings table of docs/operations.md, and no other', () => {
  const root = new URL('..', import.meta.url)
  const example = readFileSync(new URL('.env.example', root), 'utf8')
  const operations = readFileSync(new URL('docs/operations.md', root), 'utf8')
  const names = Object.keys(EnvSchema.properties)
  for (const name of names) assert.match(example, new RegExp(`^# ${name}=`, 'm'), `.env.example lists ${name}`)
  // Exactly one row per variable: a setting renamed or removed in the schema fails here too, not only a new one.
  const rows = [...operations.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1])
  assert.deepEqual([...rows].sort(), [...names].sort(), 'the settings table of docs/operations.md')
})
