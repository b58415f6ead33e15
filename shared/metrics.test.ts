// The metrics both services share: Node's process metrics under their standard names, and failed
// Redis commands counted by kind on a real Redis.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uniqueName } from '../test/helpers.js'
import { freePort } from '../devtools/ports.js'
import { isolatedPrefix } from '../test/consumer-helpers.js'
import { closeRedis, createRedis } from './redis/client.js'
import { countRedisErrors, createRegistry } from './metrics.js'

const series = async (registry: ReturnType<typeof createRegistry>, name: string) =>
  Object.fromEntries((await registry.metrics()).split('\n').filter((l) => l.startsWith(`${name}{`)).map((l) => {
    const space = l.lastIndexOf(' ')
    return [l.slice(name.length, space), Number(l.slice(space + 1))]
  }))

test('Node\'s process metrics carry their standard names, labelled with the service', async () => {
  const text = await createRegistry('consumer').metrics()
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_p99_seconds']) {
    assert.match(text, new RegExp(`^${name}\\{service="consumer"\\} `, 'm'), name)
  }
  assert.doesNotMatch(text, /^tally_\w*process/m, 'no prefixed copies')
})

test('failed Redis commands are counted by kind, from 0; the expected BUSYGROUP answer is not a failure', async (t) => {
  const registry = createRegistry('api')
  // Short enough that the 0.5 s BLPOP below times out, long enough for the first command's connect on a busy box.
  const redis = createRedis(process.env.REDIS_URL!, { commandTimeoutMs: 250 })
  t.after(() => closeRedis(redis))
  const nowhere = createRedis(`redis://127.0.0.1:${await freePort()}`, { offlineQueue: false })
  t.after(() => closeRedis(nowhere))
  countRedisErrors(registry, 'api', { commands: redis, offline: nowhere })
  const errors = () => series(registry, 'tally_redis_command_errors_total')
  assert.deepEqual(await errors(), Object.fromEntries(['commands', 'offline'].flatMap((client) => ['timeout', 'connection', 'reply']
    .map((kind) => [`{service="api",client="${client}",kind="${kind}"}`, 0]))), 'every series exists at 0')

  await assert.rejects(redis.call('NOSUCHCOMMAND'), /unknown command/)
  const stream = `${isolatedPrefix()}votes:{0}`
  await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM')
  await assert.rejects(redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM'), /BUSYGROUP/)
  await redis.del(stream)
  await assert.rejects(nowhere.get('x'))
  // Last: the connection stays busy with it until Redis gives up (0.5 s) and answers the timed-out command.
  await assert.rejects(redis.blpop(`${isolatedPrefix()}${uniqueName('list')}`, 0.5), /Command timed out/)
  const counts = await errors()
  assert.equal(counts['{service="api",client="commands",kind="timeout"}'], 1)
  assert.equal(counts['{service="api",client="commands",kind="reply"}'], 1, 'the unknown command, not BUSYGROUP')
  assert.equal(counts['{service="api",client="commands",kind="connection"}'], 0)
  assert.equal(counts['{service="api",client="offline",kind="connection"}'], 1)
})
