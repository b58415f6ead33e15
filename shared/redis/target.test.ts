import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig, ConfigError } from '../config.js'
import { describeTarget, parseClusterNodes, redisTarget } from './target.js'

test('REDIS_CLUSTER_NODES: host:port entries, a default port, and bracketed IPv6', () => {
  assert.deepEqual(parseClusterNodes('10.0.0.1:7000, redis-b ,[::1]:7002'), {
    nodes: [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b', port: 6379 }, { host: '::1', port: 7002 }], tls: false,
  })
})

test('REDIS_CLUSTER_NODES: credentials and rediss:// on one URL entry apply to the whole cluster', () => {
  assert.deepEqual(parseClusterNodes('rediss://tally:p%40ss@cfg.example.com:6380,node-2:6379'), {
    nodes: [{ host: 'cfg.example.com', port: 6380 }, { host: 'node-2', port: 6379 }], tls: true, username: 'tally', password: 'p@ss',
  })
})

test('REDIS_CLUSTER_NODES that names no node is refused at start-up with the entry at fault', () => {
  for (const bad of ['http://a:1', 'a:notaport', 'redis://a:1/2', ' , ']) {
    assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: bad }), (err: Error) => err instanceof ConfigError && /REDIS_CLUSTER_NODES/.test(err.message), bad)
  }
})

test('set, REDIS_CLUSTER_NODES replaces REDIS_URL; unset or empty, REDIS_URL is used', () => {
  assert.deepEqual(redisTarget(loadConfig({ REDIS_URL: 'redis://r:1', REDIS_CLUSTER_NODES: 'a:1' })), { cluster: { nodes: [{ host: 'a', port: 1 }], tls: false } })
  assert.deepEqual(redisTarget(loadConfig({ REDIS_URL: 'redis://r:1', REDIS_CLUSTER_NODES: '' })), { url: 'redis://r:1' })
})

test('one shard on a cluster is a warning: every vote would go to one master', () => {
  assert.ok(loadConfig({ REDIS_CLUSTER_NODES: 'a:1' }).warnings.some((w) => w.includes('VOTE_STREAM_SHARDS')))
  assert.ok(!loadConfig({ REDIS_CLUSTER_NODES: 'a:1', VOTE_STREAM_SHARDS: '6' }).warnings.some((w) => w.includes('VOTE_STREAM_SHARDS')))
})

test('a target is described for logs without its password', () => {
  assert.equal(describeTarget({ url: 'redis://:secret@h:1' }), 'redis://h:1')
  assert.equal(describeTarget(redisTarget({ REDIS_URL: '', REDIS_CLUSTER_NODES: 'rediss://:secret@a:1,[::1]:2' })), 'cluster a:1,[::1]:2')
})
