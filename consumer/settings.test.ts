import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from '../shared/config.js'
import { redisKeys } from '../shared/redis/keys.js'
import { claimIntervalMs, consumerSettings, DEAD_LETTER_MAX_LEN, TRIM_INTERVAL_MS } from './settings.js'

test('stale entries are looked for every quarter claim-idle time, never more often than every 100 ms', () => {
  assert.equal(claimIntervalMs(3000), 750)
  assert.equal(claimIntervalMs(1000), 250)
  assert.equal(claimIntervalMs(100), 100)
})

test('a consumer reads every shard\'s stream with the batch, lanes, block, linger, claim and delivery settings of its config', () => {
  const config = loadConfig({
    CONSUMER_BATCH_SIZE: '50', CONSUMER_CONCURRENCY: '3', CONSUMER_BLOCK_MS: '200', CONSUMER_LINGER_MS: '0', CONSUMER_CLAIM_IDLE_MS: '4000',
    CONSUMER_MAX_DELIVERIES: '2', CONSUMER_GROUP: 'g1', REDIS_PREFIX: 'p:',
  })
  const keys = redisKeys('p:', 2)
  assert.deepEqual(consumerSettings(config, 'c1', keys), {
    streams: ['p:votes:{0.4}', 'p:votes:{1.1}'],
    claimIntervalMs: 1000,
    trimIntervalMs: TRIM_INTERVAL_MS,
    lanes: 3,
    settings: { group: 'g1', consumer: 'c1', batchSize: 50, blockMs: 200, lingerMs: 0, claimIdleMs: 4000, maxDeliveries: 2,
      deadLetters: 'p:votes:dead', deadLetterMaxLen: DEAD_LETTER_MAX_LEN },
  })
})
