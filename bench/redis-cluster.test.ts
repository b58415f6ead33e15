import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { Cluster } from 'ioredis'
import { slotRanges, startRedisCluster } from './redis-cluster.js'

const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }
const clusterDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('tally-bench-cluster-'))

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
  const before = new Set(clusterDirs())
  const cluster = await startRedisCluster(2, () => {})
  t.after(() => cluster.killNow())
  const client = new Cluster(cluster.startupNodes.split(',').map((hp) => ({ host: hp.split(':')[0]!, port: Number(hp.split(':')[1]) })))
  try {
    for (let shard = 0; shard < 6; shard++) await client.set(`t:{${shard}}`, String(shard))
    for (let shard = 0; shard < 6; shard++) assert.equal(await client.get(`t:{${shard}}`), String(shard))
    const spread = await cluster.keysPerNode(Array.from({ length: 6 }, (_, shard) => `t:{${shard}}`))
    assert.equal(Object.keys(spread).length, 2)
    assert.equal(Object.values(spread).reduce((a, b) => a + b, 0), 6)
  } finally {
    client.disconnect()
  }
  const dirs = clusterDirs().filter((d) => !before.has(d))
  assert.equal(dirs.length, 1, 'one temp dir while it runs')
  await cluster.stop()
  assert.deepEqual(cluster.nodes.filter((n) => alive(n.pid)), [], 'every node is gone')
  assert.equal(existsSync(`${tmpdir()}/${dirs[0]}`), false, 'its temp dir is removed')
})
