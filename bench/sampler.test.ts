import { test } from 'node:test'
import assert from 'node:assert/strict'
import { latencyBuckets, parseMetrics } from './sampler.js'

test('Prometheus text is read into series with labels, skipping comments', () => {
  const m = parseMetrics([
    '# HELP tally_votes_total Votes', '# TYPE tally_votes_total counter',
    'tally_votes_total{outcome="accepted"} 42', 'tally_group_lag{stream="tally:votes:{0}"} 7', 'process_resident_memory_bytes 1.5e8',
    'garbage', '',
  ].join('\n'))
  assert.equal(m.get('tally_votes_total{outcome="accepted"}'), 42)
  assert.equal(m.get('tally_group_lag{stream="tally:votes:{0}"}'), 7)
  assert.equal(m.get('process_resident_memory_bytes'), 1.5e8)
  assert.equal(m.size, 3)
})

test('the latency histogram is summed over routes and statuses', () => {
  const m = parseMetrics([
    'tally_http_request_duration_seconds_bucket{le="0.001",method="POST",route="/api/vote/",status_code="202"} 5',
    'tally_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/vote/",status_code="202"} 8',
    'tally_http_request_duration_seconds_bucket{le="0.001",method="POST",route="/api/vote/",status_code="429"} 2',
    'tally_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/vote/",status_code="429"} 2',
    'tally_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/api/contents/",status_code="200"} 100',
    'tally_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api/contents/",status_code="200"} 100',
    'tally_http_request_duration_seconds_count{method="POST",route="/api/vote/",status_code="202"} 8',
  ].join('\n'))
  assert.deepEqual(latencyBuckets(m), [[0.001, 107], [Infinity, 110]])
})
