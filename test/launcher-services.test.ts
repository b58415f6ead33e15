// Real bring-up on free loopback ports in a temp data dir: the machine's own 5432/6379 are never touched.
import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import { freePort, isListening } from '../devtools/ports.js'
import { ensureLocalServices, type LocalServicesOptions } from '../launcher/services.js'

async function listening(t: TestContext, onSocket: Parameters<typeof createServer>[1] = () => {}): Promise<Server> {
  const server = createServer(onSocket)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return server
}
const portOf = (server: Server) => (server.address() as AddressInfo).port

/** Replies `reply` to the first bytes it gets: enough to pass for PostgreSQL ('N') or Redis ('+PONG'). */
const fakeServer = (t: TestContext, reply: string) =>
  listening(t, (socket) => { socket.on('error', () => {}); socket.once('data', () => socket.end(reply)) })

async function tempDataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tally-local-services-'))
  await chmod(dir, 0o755)   // mkdtemp gives 0700; as root, the postgres user must be able to enter it
  t.after(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'data')
}

const refusesConnections = async (port: number) => !(await isListening(port))

async function withPostgres<T>(url: string, use: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} })
  try { return await use(sql) } finally { await sql.end() }
}

async function withRedis<T>(url: string, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  await redis.connect()
  try { return await use(redis) } finally { redis.disconnect() }
}

test('starts PostgreSQL and Redis on silent managed URLs, keeps their data across restarts, stops only its own',
  { timeout: 180_000 }, async (t) => {
    const dataDir = await tempDataDir(t)
    const [pgPort, redisPort] = [await freePort(), await freePort()]
    const databaseUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`
    const redisUrl = `redis://127.0.0.1:${redisPort}`
    const logs: string[] = []
    const opts: LocalServicesOptions = { databaseUrl, redisUrl, dataDir, log: (m) => logs.push(m),
      manage: [databaseUrl, redisUrl], searchPath: process.env.PATH }

    const services = await ensureLocalServices(opts)
    t.after(() => services.stop())   // safety net when an assertion fails first; stop() is idempotent
    await withPostgres(databaseUrl, (sql) => sql`create table kept (n int); insert into kept values (42)`.simple())
    assert.equal(await withRedis(redisUrl, (r) => r.set('kept', 'yes')), 'OK')

    const again = await ensureLocalServices(opts)   // both answer now: nothing to start, nothing to stop
    await again.stop()
    assert.equal(await withRedis(redisUrl, (r) => r.ping()), 'PONG')

    await services.stop()
    await services.stop()
    assert.equal(await refusesConnections(pgPort), true, 'PostgreSQL still listens after stop()')
    assert.equal(await refusesConnections(redisPort), true, 'Redis still listens after stop()')

    const restarted = await ensureLocalServices(opts)
    t.after(() => restarted.stop())
    const [row] = await withPostgres(databaseUrl, (sql) => sql<{ n: number }[]>`select n from kept`)
    assert.equal(row?.n, 42)
    assert.equal(await withRedis(redisUrl, (r) => r.get('kept')), 'yes', 'the AOF did not bring the key back')
    assert.equal(logs.filter((m) => m.startsWith('creating a PostgreSQL cluster')).length, 1, 'initdb ran twice')
    await restarted.stop()
    assert.equal(await refusesConnections(pgPort), true)
  })

test('a silent DATABASE_URL that is not managed is refused by name, password hidden', async (t) => {
  const redis = await fakeServer(t, '+PONG\r\n')
  const silentPort = await freePort()
  await assert.rejects(ensureLocalServices({ databaseUrl: `postgres://app:s3cret@127.0.0.1:${silentPort}/tally`,
    redisUrl: `redis://127.0.0.1:${portOf(redis)}`, dataDir: await tempDataDir(t), log: () => {} }), (err: Error) => {
    assert.match(err.message, new RegExp(`^DATABASE_URL=postgres://app:\\*\\*\\*@127\\.0\\.0\\.1:${silentPort}/tally does not answer`))
    assert.doesNotMatch(err.message, /s3cret|REDIS_URL/)
    return true
  })
})

test('a silent REDIS_URL that is not managed is refused by name', async (t) => {
  const pg = await fakeServer(t, 'N')
  const silentPort = await freePort()
  await assert.rejects(ensureLocalServices({ databaseUrl: `postgres://postgres@127.0.0.1:${portOf(pg)}/tally`,
    redisUrl: `redis://127.0.0.1:${silentPort}`, dataDir: await tempDataDir(t), log: () => {} }),
  new RegExp(`^Error: REDIS_URL=redis://127\\.0\\.0\\.1:${silentPort} does not answer`))
})

test('a managed port held by something that is not PostgreSQL is reported, not started over', async (t) => {
  const squatter = await fakeServer(t, 'HTTP/1.1 400 Bad Request\r\n\r\n')
  const redis = await fakeServer(t, '+PONG\r\n')
  const databaseUrl = `postgres://postgres@127.0.0.1:${portOf(squatter)}/tally`
  await assert.rejects(ensureLocalServices({ databaseUrl, redisUrl: `redis://127.0.0.1:${portOf(redis)}`,
    dataDir: await tempDataDir(t), log: () => {}, manage: [databaseUrl] }), /DATABASE_URL=.*something that is not PostgreSQL/)
})

test('URLs that answer are left alone, and stop() leaves them running', async (t) => {
  const pg = await fakeServer(t, 'S')
  const redis = await fakeServer(t, '-NOAUTH Authentication required.\r\n')
  const databaseUrl = `postgres://postgres@127.0.0.1:${portOf(pg)}/tally`
  const redisUrl = `redis://127.0.0.1:${portOf(redis)}`
  const logs: string[] = []
  const services = await ensureLocalServices({ databaseUrl, redisUrl, dataDir: await tempDataDir(t),
    log: (m) => logs.push(m), manage: [databaseUrl, redisUrl] })
  await services.stop()
  assert.deepEqual(logs, [])
  assert.equal(pg.listening && redis.listening, true)
})

test('on a Redis Cluster (no REDIS_URL to manage) nothing is started for Redis, even where the default Redis is silent', async (t) => {
  const pg = await fakeServer(t, 'S')
  const logs: string[] = []
  const services = await ensureLocalServices({ databaseUrl: `postgres://postgres@127.0.0.1:${portOf(pg)}/tally`, redisUrl: undefined,
    dataDir: await tempDataDir(t), log: (m) => logs.push(m), manage: [`redis://127.0.0.1:${await freePort()}`] })
  assert.deepEqual(services.started, [])
  await services.stop()
  assert.deepEqual(logs, [])
})
