// ops/alerts.yml and ops/grafana-dashboard.json name only metrics the API and the consumer expose:
// both are scraped here, as they run (the registry buildApp's metrics listener serves, a consumer's on a real Redis).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { createConsumerMetrics } from '../consumer/metrics.js'
import { buildTestApp } from './helpers.js'
import { isolatedPrefix, openRedis } from './consumer-helpers.js'
import { redisKeys } from '../shared/redis/keys.js'
import { metricNames, promqlMetricNames } from './metrics-text.js'

const ROOT = new URL('..', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8')

interface Rule { alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const rules = (): Rule[] => (parse(read('ops/alerts.yml')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules)

interface Panel { type: string; id: number; title: string; targets?: { expr: string }[]; panels?: Panel[] }
const dashboard = () => JSON.parse(read('ops/grafana-dashboard.json')) as { uid: string; panels: Panel[] }
const panels = (list: Panel[]): Panel[] => list.flatMap((p) => [p, ...panels(p.panels ?? [])])

/** Every name the API and a consumer expose, from a real scrape of each. */
async function exposedNames(t: Parameters<typeof openRedis>[0]): Promise<Set<string>> {
  const app = await buildTestApp(t, { REDIS_PREFIX: isolatedPrefix() })
  const api = await app.metricsRegistry.metrics()
  const keys = redisKeys(isolatedPrefix())
  const consumer = createConsumerMetrics({ redis: openRedis(t), streams: [keys.stream(0)], group: 'g', deadLetters: keys.deadLetters })
  return new Set([...metricNames(api), ...metricNames(await consumer.registry.metrics())])
}

test('the name reader finds the metrics of an expression, not its functions, labels, keywords or durations', () => {
  const histogram = 'histogram_quantile(0.99, sum by (le, route) (rate(x_seconds_bucket{route!="/m", a=~"b|c"}[5m] offset 1h)))'
  assert.deepEqual([...promqlMetricNames(histogram)], ['x_seconds_bucket'])
  const alert = 'max by (stream) (a_lag) > 1e3 and on () sum(rate(b_total[$__rate_interval])) == 0'
  assert.deepEqual([...promqlMetricNames(alert)].sort(), ['a_lag', 'b_total'])
})

test('every metric the alert rules and the dashboard name is one the API or the consumer exposes', async (t) => {
  const exposed = await exposedNames(t)
  assert.ok(exposed.has('tally_votes_total') && exposed.has('tally_group_lag') && exposed.has('process_cpu_seconds_total'),
    'both scrapes were read')
  const queries = [
    ...rules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ...panels(dashboard().panels).flatMap((p) => (p.targets ?? []).map((target) => ({ where: `panel "${p.title}"`, expr: target.expr }))),
  ]
  assert.ok(queries.length > 20, `${queries.length} queries read`)
  const unknown = queries.flatMap(({ where, expr }) =>
    [...promqlMetricNames(expr)].filter((n) => !exposed.has(n)).map((n) => `${where}: ${n}`))
  assert.deepEqual(unknown, [])
})

test('every alert rule has a name, a severity and a summary, and the four an operator of the queue needs are there', () => {
  const all = rules()
  for (const r of all) {
    assert.ok(r.alert, `a rule without a name: ${r.expr}`)
    assert.match(r.labels?.severity ?? '', /^(warning|critical)$/, `${r.alert}: severity`)
    assert.ok(r.annotations?.summary, `${r.alert}: summary`)
  }
  const byMetric = (name: string) => all.some((r) => promqlMetricNames(r.expr).has(name))
  assert.ok(byMetric('tally_group_lag'), 'lag growing')
  assert.ok(byMetric('tally_stream_oldest_undelivered_age_seconds'), 'oldest entry too old')
  assert.ok(byMetric('tally_dead_letters_total'), 'dead letters appearing')
  assert.ok(byMetric('tally_group_pending') && byMetric('tally_consumer_entries_total'), 'a consumer stuck: pending entries not moving')
})

test('the dashboard\'s panels have unique ids and a title, and query the Prometheus its datasource variable picks', () => {
  const all = panels(dashboard().panels)
  assert.equal(new Set(all.map((p) => p.id)).size, all.length, 'unique panel ids')
  for (const p of all) {
    assert.ok(p.title, `panel ${p.id} has a title`)
    // eslint-disable-next-line no-template-curly-in-string -- Grafana's datasource variable, written as the dashboard JSON holds it
    if (p.type !== 'row') assert.equal((p as { datasource?: { uid?: string } }).datasource?.uid, '${datasource}', `panel "${p.title}"`)
  }
})
