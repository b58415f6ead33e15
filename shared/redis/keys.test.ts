import { test } from 'node:test'
import assert from 'node:assert/strict'
import calculateSlot from 'cluster-key-slot'
import { redisKeys, shardTags } from './keys.js'

/** The master owning a slot when `masters` split the 16384 slots evenly, as redis-cli --cluster create does. */
const masterOf = (slot: number, masters: number) => Math.min(masters - 1, Math.floor((slot * masters) / 16384))

test('shard tags spread the shards evenly over the masters of an evenly split cluster, for every multiple of the masters', () => {
  for (const masters of [2, 3, 4, 5, 6, 8]) {
    for (const shards of [masters, 2 * masters, 3 * masters, 64 * masters]) {
      const perMaster = new Array(masters).fill(0)
      for (const tag of shardTags(shards)) perMaster[masterOf(calculateSlot(tag), masters)]++
      assert.deepEqual(perMaster, new Array(masters).fill(shards / masters), `${shards} shards on ${masters} masters`)
    }
  }
})

test('shard tags are distinct, stable, and one shard keeps the tag {0}', () => {
  assert.deepEqual(shardTags(1), ['0'])
  assert.equal(redisKeys('t:', 1).stream(0), 't:votes:{0}')
  const tags = shardTags(1024)
  assert.equal(new Set(tags).size, 1024)
  // The names are part of the stored data (streams, bitmaps): the same count must always give the same names.
  assert.deepEqual(shardTags(6), ['0.1', '1.3', '2.2', '3.43', '4.20', '5.8'])
})

test('every key of a content shares its shard\'s slot', () => {
  const keys = redisKeys('tally:', 6)
  for (const content of [1, 2, 6, 7, 1_000_003]) {
    const shard = keys.shardOf(content)
    const slots = [keys.stream(shard), keys.locks(shard), keys.contentExists(shard), keys.contentExistsStaging(shard),
      keys.window(content), keys.voteRequests(content, 42)].map((k) => calculateSlot(k))
    assert.equal(new Set(slots).size, 1, `content ${content}: ${slots.join(' ')}`)
  }
})

test('every login-failure key of one account shares a slot, so one MULTI can hold them on a Cluster', () => {
  const keys = redisKeys('tally:')
  for (const account of ['AbC-_09', 'x'.repeat(43)]) {
    const slots = new Set([keys.loginFailures(account), keys.loginFailuresFrom(account, '2001:db8:1:2::/64'),
      keys.loginKnownNetwork(account, '192.0.2.7')].map((key) => calculateSlot(key)))
    assert.equal(slots.size, 1, account)
  }
})
