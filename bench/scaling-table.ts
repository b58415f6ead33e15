/**
 * The scaling report's one table, built from the result JSON of each run of the matrix (bench/scaling.ts):
 * a row per vote-spread and per drain consumer count, with its configuration read back from the run's own
 * options, the rate, CPU µs per vote of each process kind with its share of a core, and the run's baseline.
 * The share of a core is what shows where a 2-core box flattens the curve: cores busy near 2 is the machine's ceiling.
 */
import type { BenchRun, Machine } from './report.js'
import { CPU_GROUPS, type CpuGroup } from './cpu-meter.js'
import { DASH, formatUs, summaryRows } from './summary-rows.js'
import { round } from './stats.js'

export interface ScalingRow {
  configuration: string
  scenario: string
  /** req/s for vote-spread (every request a vote: thresholds are off), votes applied per second for drain. */
  rate: number
  unit: 'req/s' | 'votes/s'
  /** vote-spread's req/s over the same run's baseline; null for drain rows. */
  ratio: number | null
  /** µs per vote of each process kind (summed over its processes) and its share of one core; absent when not metered. */
  cpu: Partial<Record<CpuGroup, { us: number; cores: number }>>
  /** Every metered process together, in cores. */
  coresBusy: number
  baseline: { rate: number; apiUs: number | null }
}

export interface Configuration { redisCluster?: number; shards?: number; apiProcesses?: number }

/** "cluster of 3, 6 shards, API ×2"; what an older result file lacks is taken as the default. */
export function describeConfiguration({ redisCluster = 0, shards = 1, apiProcesses = 1 }: Configuration): string {
  return `${redisCluster > 0 ? `cluster of ${redisCluster}` : 'one Redis'}, ${shards} shard${shards === 1 ? '' : 's'}, API ×${apiProcesses}`
}

export const configurationOf = (run: BenchRun): string => describeConfiguration(run.options as Configuration)

export function scalingRows(runs: readonly BenchRun[]): ScalingRow[] {
  return runs.flatMap((run) => {
    const base = run.results.find((r) => r.name === 'baseline')
    const baseline = { rate: base?.load?.requestsPerSecond ?? 0, apiUs: base?.cpu?.groups.api?.usPerUnit ?? null }
    // The ceiling is PostgreSQL alone, the same in every configuration: the report gives it below the table.
    return summaryRows(run).filter((r) => r.name === 'vote-spread' || r.name.startsWith('drain, ')).map((r): ScalingRow => {
      const cpu: ScalingRow['cpu'] = {}
      for (const g of CPU_GROUPS) {
        const group = r.cpu?.groups[g]
        if (group?.usPerUnit != null) cpu[g] = { us: group.usPerUnit, cores: group.coreShare }
      }
      return {
        configuration: configurationOf(run), scenario: r.name, rate: Math.round(r.rate),
        unit: r.name === 'vote-spread' ? 'req/s' : 'votes/s', ratio: r.name === 'vote-spread' ? r.ratio : null,
        cpu, coresBusy: round(Object.values(cpu).reduce((n, c) => n + c.cores, 0)), baseline,
      }
    })
  })
}

const cell = (c: { us: number; cores: number } | undefined) => (c ? `${formatUs(c.us)} (${c.cores.toFixed(2)})` : DASH)

export function scalingTable(rows: readonly ScalingRow[]): string {
  return [
    `| configuration | scenario | rate | × baseline | ${CPU_GROUPS.map((g) => `${g} µs/vote (cores)`).join(' | ')} ` +
      '| cores busy | baseline req/s | baseline api µs/req |',
    `|${' --- |'.repeat(CPU_GROUPS.length + 7)}`,
    ...rows.map((r) => `| ${[
      r.configuration, r.scenario, `${r.rate} ${r.unit}`, r.ratio === null ? DASH : r.ratio.toFixed(2),
      ...CPU_GROUPS.map((g) => cell(r.cpu[g])),
      r.coresBusy.toFixed(2), r.baseline.rate, r.baseline.apiUs === null ? DASH : formatUs(r.baseline.apiUs),
    ].join(' | ')} |`),
  ].join('\n')
}

/** Each drain run's in-process ceiling (votes/s): what PostgreSQL alone allows, the line every drain row sits under. */
export function drainCeilings(runs: readonly BenchRun[]): { configuration: string; perSecond: number }[] {
  return runs.flatMap((run) => {
    const perSecond = (run.results.find((r) => r.name === 'drain')?.extra as { ceilingPerSecond?: number } | undefined)?.ceilingPerSecond
    return perSecond ? [{ configuration: configurationOf(run), perSecond }] : []
  })
}

export interface ScalingStep { configuration: string; command: string; exitCode: number | null; seconds: number; json?: string }

/** The whole report: machine, each run's command and time, the table, what the columns mean, the ceilings, the shards' spread. */
export function scalingMarkdown(o: {
  date: string; minutes: number; invocation: string; machine?: Machine; steps: readonly ScalingStep[]; runs: readonly BenchRun[]
}): string {
  const ceilings = drainCeilings(o.runs)
  const spread = o.runs.flatMap((r) => {
    const perNode = (r.options as { shardsPerNode?: Record<string, number> }).shardsPerNode
    return perNode ? [`${configurationOf(r)}: ${Object.values(perNode).join(' / ')} shards per master`] : []
  })
  const m = o.machine
  return [
    `## tally scaling, ${o.date}`,
    '',
    ...(m
      ? [`Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}. ` +
        'Load generator on the same machine.', '']
      : []),
    `\`${o.invocation}\`: ${o.steps.length} bench runs, one after another, ${o.minutes} min in all:`,
    '',
    ...o.steps.map((s, i) => `${i + 1}. \`${s.command}\`: ${s.seconds} s` +
      `${s.exitCode === 0 ? '' : `, **exit ${s.exitCode}**`}${s.json ? ` → ${s.json}` : ', no result'}`),
    '',
    scalingTable(scalingRows(o.runs)),
    '',
    'CPU: µs per vote of each process kind, summed over its processes (api: the primary and its workers; consumers: every ' +
      'consumer process; redis: every Redis server process, each node of a cluster; postgres: the backends of the bench database; ' +
      'loadgen: the bench itself, autocannon included), from /proc over the load (vote-spread: per request, each one a vote; drain: ' +
      'per vote applied); in brackets the share of one core it kept busy. cores busy: all of them together, out of ' +
      `${m?.cores ?? '?'}. The baseline is each run's bare Fastify route, for the ratio.`,
    ...(ceilings.length
      ? ['', "Drain ceiling (the consumer's apply in-process, one connection, no Redis): " +
        `${ceilings.map((c) => `${c.perSecond} votes/s (${c.configuration})`).join(', ')}.`]
      : []),
    ...(spread.length ? ['', `Where the shards landed: ${spread.join('; ')}.`] : []),
    '',
  ].join('\n')
}
