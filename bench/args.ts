import { parseArgs } from 'node:util'

export const SCENARIOS = ['baseline', 'vote-spread', 'vote-hot', 'read', 'mixed', 'drain'] as const
export type Scenario = (typeof SCENARIOS)[number]

export interface BenchOptions {
  scenarios: Scenario[]
  durationSeconds: number
  connections: number
  pipelining: number
  users: number
  contents: number
  consumers: number
  /** API_PROCESSES for the API: above 1, server/main.ts forks that many node:cluster workers. */
  apiProcesses: number
  limit: number
  periodSeconds: number
  lockSeconds: number
  outDir: string
  url?: string
  /** Where the API and consumer children write V8 CPU profiles (node --cpu-prof); none when unset. */
  profileDir?: string
  autoPipelining: boolean
  drainVotes: number
  drainConsumers: number[]
  /** Masters of a throwaway Redis Cluster the whole run uses instead of REDIS_URL; 0: no cluster of its own. */
  redisCluster: number
  /** An earlier result JSON to print today's figures beside. */
  compare?: string
  help: boolean
}

export const HELP = `npm run bench -- [options]

  --scenario NAME     baseline | vote-spread | vote-hot | read | mixed | drain | all (default: all); repeatable or comma-separated
  --duration S        seconds of load per scenario (default 20)
  --connections N     concurrent connections (default 50)
  --pipelining N      requests in flight per connection (default 1)
  --users N           users to create (default 10000)
  --contents N        contents to create, with about as many votes (default 1000000)
  --consumers N       consumer processes beside the API (default 1)
  --api-processes N   API processes: passed as API_PROCESSES, a node:cluster primary forks N workers (default 1)
  --limit N           VOTE_THRESHOLD_COUNT_LIMIT for vote-hot (default 10)
  --period S          VOTE_THRESHOLD_PERIOD for vote-hot (default 60)
  --lock S            LOCK_DURATION for vote-hot (default 120)
  --drain-votes N     votes pre-filled for the drain scenario (default 1000000)
  --drain-consumers L consumer counts timed by drain, comma-separated (default 1,2,4)
  --redis-cluster N   run everything on a throwaway Redis Cluster of N masters (no replicas) on free loopback
                      ports, killed at the end; its nodes' CPU is the redis figure (default: none, REDIS_URL)
  --no-auto-pipelining turn ioredis auto-pipelining off in the API (default on)
  --out DIR           where JSON, Markdown and HTML go (default bench/results)
  --url URL           measure a running API instead of starting one (its database must hold the bench data)
  --compare FILE      print this run beside an earlier result JSON (bench/results/*.json): req/s, ratio, p99, CPU µs
  --profile DIR       write a V8 CPU profile of every API and consumer process to DIR (node --cpu-prof)
  --help              this text
`

const int = (name: string, text: string | undefined, fallback: number, min = 1): number => {
  if (text === undefined) return fallback
  if (!/^\d+$/.test(text) || Number(text) < min) throw new Error(`--${name} expects a whole number ≥ ${min}, got ${JSON.stringify(text)}`)
  return Number(text)
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      scenario: { type: 'string', multiple: true },
      duration: { type: 'string' }, connections: { type: 'string' }, pipelining: { type: 'string' },
      users: { type: 'string' }, contents: { type: 'string' }, consumers: { type: 'string' }, 'api-processes': { type: 'string' },
      limit: { type: 'string' }, period: { type: 'string' }, lock: { type: 'string' },
      'no-auto-pipelining': { type: 'boolean', default: false },
      'drain-votes': { type: 'string' }, 'drain-consumers': { type: 'string' }, 'redis-cluster': { type: 'string' },
      out: { type: 'string' }, url: { type: 'string' }, compare: { type: 'string' }, profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  const names = (values.scenario ?? ['all']).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)
  const scenarios = names.includes('all')
    ? [...SCENARIOS]
    : names.map((name) => {
      if (!(SCENARIOS as readonly string[]).includes(name)) {
        throw new Error(`unknown scenario ${JSON.stringify(name)}: expected one of ${SCENARIOS.join(', ')}, all`)
      }
      return name as Scenario
    })
  // The baseline is always measured: every other figure is stated as a ratio to it.
  if (!scenarios.includes('baseline')) scenarios.unshift('baseline')
  return {
    scenarios,
    durationSeconds: int('duration', values.duration, 20),
    connections: int('connections', values.connections, 50),
    pipelining: int('pipelining', values.pipelining, 1),
    users: int('users', values.users, 10_000),
    contents: int('contents', values.contents, 1_000_000),
    consumers: int('consumers', values.consumers, 1),
    apiProcesses: int('api-processes', values['api-processes'], 1),
    limit: int('limit', values.limit, 10),
    periodSeconds: int('period', values.period, 60),
    lockSeconds: int('lock', values.lock, 120),
    outDir: values.out ?? 'bench/results',
    url: values.url,
    profileDir: values.profile,
    autoPipelining: !(values['no-auto-pipelining'] ?? false),
    drainVotes: int('drain-votes', values['drain-votes'], 1_000_000),
    drainConsumers: (values['drain-consumers'] ?? '1,2,4').split(',').map((x) => int('drain-consumers', x.trim(), 1)),
    redisCluster: int('redis-cluster', values['redis-cluster'], 0),
    compare: values.compare,
    help: values.help ?? false,
  }
}
