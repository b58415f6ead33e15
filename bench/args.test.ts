import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseBenchArgs, SCENARIOS } from './args.js'

test('no arguments: every scenario with the documented defaults', () => {
  const o = parseBenchArgs([])
  assert.deepEqual(o.scenarios, [...SCENARIOS])
  assert.equal(o.durationSeconds, 20)
  assert.equal(o.connections, 50)
  assert.equal(o.autoPipelining, true)
  assert.deepEqual(o.drainConsumers, [1, 2, 4])
  assert.equal(o.apiProcesses, 1)
  assert.equal(o.compare, undefined)
  assert.equal(o.redisCluster, 0, 'no cluster of its own unless asked: the Redis of REDIS_URL')
})

test('--redis-cluster takes the number of masters, one at least', () => {
  assert.equal(parseBenchArgs(['--redis-cluster', '3']).redisCluster, 3)
  assert.equal(parseBenchArgs(['--redis-cluster', '1']).redisCluster, 1)
  assert.throws(() => parseBenchArgs(['--redis-cluster', '0']), /--redis-cluster expects a whole number ≥ 1/)
  assert.throws(() => parseBenchArgs(['--redis-cluster', 'three']), /--redis-cluster/)
  assert.throws(() => parseBenchArgs(['--redis-cluster']), /--redis-cluster/)
})

test('API processes and an earlier run to compare with are taken as given', () => {
  const o = parseBenchArgs(['--api-processes', '2', '--compare', 'bench/results/x.json'])
  assert.equal(o.apiProcesses, 2)
  assert.equal(o.compare, 'bench/results/x.json')
  assert.throws(() => parseBenchArgs(['--api-processes', '0']), /--api-processes/)
})

test('a chosen scenario always comes with the baseline, which every ratio needs', () => {
  assert.deepEqual(parseBenchArgs(['--scenario', 'vote-hot']).scenarios, ['baseline', 'vote-hot'])
  assert.deepEqual(parseBenchArgs(['--scenario', 'vote-spread,drain']).scenarios, ['baseline', 'vote-spread', 'drain'])
})

test('numbers are parsed and bad values are refused with the flag named', () => {
  const o = parseBenchArgs(['--duration', '5', '--connections', '10', '--drain-consumers', '1,3', '--no-auto-pipelining'])
  assert.equal(o.durationSeconds, 5)
  assert.equal(o.connections, 10)
  assert.deepEqual(o.drainConsumers, [1, 3])
  assert.equal(o.autoPipelining, false)
  assert.throws(() => parseBenchArgs(['--duration', 'ten']), /--duration/)
  assert.throws(() => parseBenchArgs(['--connections', '0']), /--connections/)
  assert.throws(() => parseBenchArgs(['--scenario', 'nope']), /unknown scenario "nope"/)
  assert.throws(() => parseBenchArgs(['--bogus']))
})
