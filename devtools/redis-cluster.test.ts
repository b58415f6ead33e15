import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { Cluster } from 'ioredis'
import { slotRanges, startRedisCluster } from './redis-cluster.js'

const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }

test('the slots are split between the masters with none left out or shared, as redis-cli splits them', () => {
  assert.deepEqual(slotRanges(1), [[0, 16383]])
  assert.deepEqual(slotRanges(3), [[0, 5460], [5461, 10922], [10923, 16383]])
  for (const n of [2, 5, 7]) {
    const ranges = slotRanges(n)
    assert.equal(ranges[0]![0], 0)
    assert.equal(ranges.at(-1)![1], 16383)
    for (let i = 1; i < n; i++) assert.equal(ranges[i]![0], ranges[i - 1]![1] + 1)
  }
})

test('a 2-master cluster serves keys of every shard tag, and stop leaves no node and no temp dir behind', async (t) => {
  const cluster = await startRedisCluster({ masters: 2 })
  t.after(() => cluster.killNow())
  const client = new Cluster(cluster.startupNodes)
  try {
    for (let shard = 0; shard < 6; shard++) await client.set(`t:{${shard}}`, String(shard))
    for (let shard = 0; shard < 6; shard++) assert.equal(await client.get(`t:{${shard}}`), String(shard))
    const spread = await cluster.keysPerNode(Array.from({ length: 6 }, (_, shard) => `t:{${shard}}`))
    assert.equal(Object.keys(spread).length, 2)
    assert.equal(Object.values(spread).reduce((a, b) => a + b, 0), 6)
  } finally {
    client.disconnect()
  }
  assert.equal(existsSync(cluster.dir), true, 'one temp dir while it runs')
  await cluster.stop()
  assert.deepEqual(cluster.nodes.filter((n) => alive(n.pid)), [], 'every node is gone')
  assert.equal(existsSync(cluster.dir), false, 'its temp dir is removed')
})
