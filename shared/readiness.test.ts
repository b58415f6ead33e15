// The one readiness probe (readiness.ts) against a real PostgreSQL and Redis, and against ones that are not
// there or never answer: each dependency is named ok or down, and a hung one does not hang the probe.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { openDb, openRedis } from '../test/consumer-helpers.js'
import { freePort } from '../devtools/ports.js'
import { checkReadiness } from './readiness.js'

/** A port that takes connections and never says a word: a server that hangs. */
async function silentPort(t: TestContext): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return (server.address() as { port: number }).port
}

test('ok when PostgreSQL answers a query and Redis a PING', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!, 1)
  const redis = openRedis(t)
  await redis.ping() // ready before it is probed
  assert.deepEqual(await checkReadiness(db, redis), { status: 'ok', postgres: 'ok', redis: 'ok' })
})

test('names what is down: a Redis nobody runs, a PostgreSQL nobody runs', async (t) => {
  const db = openDb(t, process.env.DATABASE_URL!, 1)
  const redis = openRedis(t)
  await redis.ping()
  const nowhereRedis = openRedis(t, `redis://127.0.0.1:${await freePort()}`)
  const nowhereDb = openDb(t, `postgres://postgres@127.0.0.1:${await freePort()}/tally`, 1)
  assert.deepEqual(await checkReadiness(db, nowhereRedis), { status: 'down', postgres: 'ok', redis: 'down' })
  assert.deepEqual(await checkReadiness(nowhereDb, redis), { status: 'down', postgres: 'down', redis: 'ok' })
})

test('a PostgreSQL that takes the connection and never answers is down: the probe does not hang with it', async (t) => {
  const redis = openRedis(t)
  await redis.ping()
  const hungDb = openDb(t, `postgres://postgres@127.0.0.1:${await silentPort(t)}/tally`, 1)
  assert.deepEqual(await checkReadiness(hungDb, redis), { status: 'down', postgres: 'down', redis: 'ok' })
})
