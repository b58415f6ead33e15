import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseMetrics } from './sampler.js'

test('Prometheus text is read into series with labels, skipping comments', () => {
  const m = parseMetrics([
    '# HELP tally_votes_total Votes', '# TYPE tally_votes_total counter',
    'tally_votes_total{outcome="accepted"} 42', 'tally_group_lag{stream="tally:votes:{0}"} 7', 'process_resident_memory_bytes 1.5e8', 'garbage', '',
  ].join('\n'))
  assert.equal(m.get('tally_votes_total{outcome="accepted"}'), 42)
  assert.equal(m.get('tally_group_lag{stream="tally:votes:{0}"}'), 7)
  assert.equal(m.get('process_resident_memory_bytes'), 1.5e8)
  assert.equal(m.size, 3)
})
