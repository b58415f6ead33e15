import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Histogram, Registry } from 'prom-client'
import { ACCEPT_TO_APPLY_BUCKETS, CommitLatency } from './commit-latency.js'
import type { Rejected } from './dead-letters.js'
import type { Vote } from './decode.js'

const vote = (ms: number, seq = 0): Vote => ({ stream: 's', entryId: `${ms}-${seq}`, ms, seq, userId: 1, contentId: 1, score: 3 })

test('a commit\'s votes show as a prom-client Histogram that observed each vote\'s wait would show them', async () => {
  const committedAtMs = 1_700_000_100_000
  // Waits on and around the bucket bounds, past the last one, and one from a clock ahead of ours (counts as 0).
  const waitsMs = [0, 3, 5, 6, 10, 24, 25, 26, 999, 1000, 1001, 60_000, 899_999, 900_000, 2_000_000, -40]
  const votes = waitsMs.map((w, i) => vote(committedAtMs - w, i))
  const ours = new Registry()
  const latency = new CommitLatency(ours)
  latency.observeCommit(votes.slice(0, 9), [], committedAtMs)
  latency.observeCommit(votes.slice(9), [], committedAtMs)

  const reference = new Registry()
  const histogram = new Histogram({
    name: 'tally_vote_accept_to_apply_seconds', help: (await latency.get()).help, buckets: ACCEPT_TO_APPLY_BUCKETS, registers: [reference],
  })
  for (const w of waitsMs) histogram.observe(Math.max(0, w) / 1000)
  assert.equal(await ours.metrics(), await reference.metrics())
  // The JSON form (what a cluster's aggregation reads): the same series and values.
  const series = async (r: Registry) => (await r.getMetricsAsJSON()).map((m) => ({
    name: m.name,
    type: m.type,
    values: m.values.map((v) => ({ labels: v.labels, value: v.value, metricName: (v as { metricName?: string }).metricName })),
  }))
  assert.deepEqual(await series(ours), await series(reference))
})

test('votes a commit rejected (no such user or content) are not counted, and reset empties the histogram', async () => {
  const registry = new Registry()
  const latency = new CommitLatency(registry)
  const votes = [vote(1000, 0), vote(1000, 1), vote(1000, 2)]
  const rejected: Rejected[] = [{ stream: 's', entryId: '1000-1', reason: 'unknown_user', fields: [] }]
  latency.observeCommit(votes, rejected, 1500)
  const count = async () => (await registry.metrics()).match(/^tally_vote_accept_to_apply_seconds_count (\S+)$/m)?.[1]
  assert.equal(await count(), '2')
  assert.match(await registry.metrics(), /^tally_vote_accept_to_apply_seconds_sum 1$/m)
  latency.reset()
  assert.equal(await count(), '0')
})
