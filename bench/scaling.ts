/**
 * `npm run bench:scaling`: how tally scales on this machine. Runs the matrix below as separate, ordinary bench
 * runs (bench/main.ts, one after another, each with its own options and VOTE_STREAM_SHARDS), then writes one
 * report from their result JSON: bench/results/<date>-scaling.{md,json}, each run's own files beside it in
 * <date>-scaling/. Arguments are added to every run, after the defaults, so they win (`-- --duration 10`).
 * Take the bench lock around the whole matrix, not each run: `flock /tmp/tally-bench.lock npm run bench:scaling`.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ROOT, startNode } from '../devtools/processes.js'
import { loadRun } from './compare.js'
import type { BenchRun } from './report.js'
import { describeConfiguration, drainCeilings, scalingMarkdown, scalingRows, type ScalingStep } from './scaling-table.js'

interface Step { shards: number; redisCluster: number; apiProcesses: number; drain: boolean }

// API ×2 runs leave the drain out: no API runs during a drain, so it would repeat the API ×1 row.
const MATRIX: Step[] = [
  { redisCluster: 0, shards: 1, apiProcesses: 1, drain: true },
  { redisCluster: 0, shards: 1, apiProcesses: 2, drain: false },
  { redisCluster: 0, shards: 6, apiProcesses: 1, drain: true },
  { redisCluster: 3, shards: 6, apiProcesses: 1, drain: true },
  { redisCluster: 3, shards: 6, apiProcesses: 2, drain: false },
]
const COMMON = ['--contents', '100000', '--users', '2000', '--duration', '20', '--drain-votes', '300000', '--drain-consumers', '1,2,4']
const log = (msg: string) => console.error(`bench:scaling: ${msg}`)

const started = new Date()
const stamp = started.toISOString().replace(/[:.]/g, '-')
const outDir = join(ROOT, 'bench/results')
const runsDir = join(outDir, `${stamp}-scaling`)
const runs: BenchRun[] = []
const steps: ScalingStep[] = []

for (const [i, step] of MATRIX.entries()) {
  // Relative, as the child runs in ROOT: the command in the report is one to paste.
  const dir = relative(ROOT, join(runsDir, `${i + 1}-redis${step.redisCluster}-shards${step.shards}-api${step.apiProcesses}`))
  mkdirSync(join(ROOT, dir), { recursive: true })
  const args = ['--scenario', step.drain ? 'vote-spread,drain' : 'vote-spread', '--api-processes', String(step.apiProcesses),
    ...(step.redisCluster > 0 ? ['--redis-cluster', String(step.redisCluster)] : []), ...COMMON, '--out', dir, ...process.argv.slice(2)]
  const env: NodeJS.ProcessEnv = { ...process.env, VOTE_STREAM_SHARDS: String(step.shards) }
  // A row that says "one Redis" must not have run on a cluster named in the caller's environment.
  if (step.redisCluster === 0) delete env.REDIS_CLUSTER_NODES
  const command = `VOTE_STREAM_SHARDS=${step.shards} npm run bench -- ${args.join(' ')}`
  log(`run ${i + 1} of ${MATRIX.length}: ${command}`)
  const t0 = performance.now()
  const exitCode = await startNode('bench/main.ts', { args, env, output: 'stderr' }).exited
  const seconds = Math.round((performance.now() - t0) / 1000)
  // A failed check (audit, lock) still writes its JSON: its figures go in, with the exit code beside them.
  const json = readdirSync(join(ROOT, dir)).find((f) => f.endsWith('.json'))
  if (json) runs.push(loadRun(join(ROOT, dir, json)))
  steps.push({ configuration: describeConfiguration(step), command, exitCode, seconds, ...(json ? { json: join(dir, json) } : {}) })
  log(`run ${i + 1} took ${seconds} s, exit ${exitCode}${json ? '' : ', no result JSON'}`)
  if (exitCode !== 0) process.exitCode = 1
}

const minutes = Math.round((Date.now() - started.getTime()) / 6000) / 10
const invocation = `npm run bench:scaling${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
const markdown = scalingMarkdown({ date: started.toISOString(), minutes, invocation, machine: runs[0]?.machine, steps, runs })
mkdirSync(outDir, { recursive: true })
const files = { markdown: join(outDir, `${stamp}-scaling.md`), json: join(outDir, `${stamp}-scaling.json`) }
writeFileSync(files.markdown, markdown)
const summary = { date: started.toISOString(), minutes, invocation, machine: runs[0]?.machine, steps, rows: scalingRows(runs),
  drainCeilings: drainCeilings(runs) }
writeFileSync(files.json, JSON.stringify(summary, null, 2))
console.log(markdown)
log(`wrote ${files.markdown} and ${files.json}`)
