import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { randomBytes } from 'node:crypto'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parseClusterNodes } from './redis/target.js'
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js'

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/tally'
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
const MIN_SECRET_LENGTH = 32
const MAX_API_PROCESSES = 64

const Seconds = (def: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 31_536_000, default: def, description })

// Every setting the processes read, with its default and meaning; .env.example mirrors this list.
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], { default: 'development' }),
  HOST: Type.String({ minLength: 1, default: '::', description: 'address the API listens on (:: = every IPv4 and IPv6 address)' }),
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8003 }),
  METRICS_PORT: Type.Integer({
    minimum: 0, maximum: 65535, default: 9464, description: "port of the API's /metrics, apart from PORT; 0 = no metrics endpoint",
  }),
  METRICS_HOST: Type.String({
    minLength: 1, default: '127.0.0.1',
    description: "address the API's and the consumers' metrics endpoints listen on (loopback unless set)",
  }),
  API_PROCESSES: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: MAX_API_PROCESSES })], {
    default: 1, description: 'API processes serving PORT; auto = one per core; more than 1 runs them as a node:cluster',
  }),
  TRUST_PROXY: Type.String({
    default: 'false',
    description: 'which X-Forwarded-For entry is the client: false (none), a hop count, ' +
      'or the proxies\' addresses/CIDRs, comma-separated (shared/trust-proxy.ts)',
  }),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://', default: DEFAULT_DATABASE_URL }),
  DB_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: DEFAULT_REDIS_URL }),
  REDIS_CLUSTER_NODES: Type.Optional(Type.String({
    description: 'Redis Cluster start-up nodes, comma-separated host:port or redis[s]:// URLs; ' +
      'set, it replaces REDIS_URL (docs/scaling.md)',
  })),
  REDIS_PREFIX: Type.String({ pattern: '^[A-Za-z0-9:_.-]*$', default: 'tally:' }),
  REDIS_COMMAND_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
  VOTE_STREAM_SHARDS: Type.Integer({
    minimum: 1, maximum: 1024, default: 1,
    description: 'vote streams a content maps to by id % shards; change only upward, after draining (docs/operations.md)',
  }),
  REDIS_AUTO_PIPELINING: Type.Boolean({
    default: true, description: 'batch concurrent Redis commands of the API into pipelines (ioredis enableAutoPipelining)',
  }),
  READ_CACHE_MS: Type.Integer({
    minimum: 0, maximum: 600_000, default: 30_000,
    description: 'longest a content list page is served from the API process memory; 0 turns the cache off',
  }),
  PENDING_VOTES_MAX: Type.Integer({
    minimum: 1, maximum: 10_000_000, default: 200_000,
    description: 'votes accepted and not yet applied each API process keeps in memory to show voters at once ' +
      '(about 150 bytes each); past it the oldest show as PostgreSQL has them (server/pending-votes/store.ts)',
  }),
  RANKING_PRIOR_WEIGHT: Type.Number({
    minimum: 0, maximum: 1_000_000, default: 10,
    description: 'm of bayesian_average = (m·C + sum) / (m + count): how many votes of the mean C every content starts with',
  }),
  RANKING_LOWER_BOUND_Z: Type.Number({
    minimum: 0, maximum: 10, default: 1.65, description: 'z of rating_lower_bound (1.65: a one-sided 95% bound; 1.96: 97.5%)',
  }),
  RANKING_REFRESH_MS: Type.Integer({
    minimum: 100, maximum: 3_600_000, default: 10_000,
    description: 'how often a consumer re-ranks the contents its votes changed and refreshes the prior mean C: ' +
      'the orderings lag the votes by at most about this much',
  }),
  RANKING_MAX_PER_TICK: Type.Integer({
    minimum: 1, maximum: 10_000_000, default: 5000,
    description: 'contents a consumer re-ranks at most per RANKING_REFRESH_MS: bounds what rankings cost PostgreSQL ' +
      'when votes spread over more contents than that; the rest wait for the next ticks',
  }),
  RANKING_PRIOR_TOLERANCE: Type.Number({
    minimum: 0, maximum: 5, default: 0.01,
    description: 'how far the mean of all votes must move from the C in force before C is replaced and every rank key computed again',
  }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  JWT_LEGACY_SECRET: Type.Optional(Type.String({
    minLength: 1,
    description: "the Django service's SECRET_KEY: its access tokens are accepted until they expire, " +
      'its refresh tokens traded once (docs/django-import.md)',
  })),
  JWT_LEGACY_REFRESH_TTL: Seconds(86_400, "the Django service's refresh token lifetime (simplejwt's REFRESH_TOKEN_LIFETIME) in seconds: " +
    "no token of the old service is honoured for longer after the import's cut-over (docs/django-import.md)"),
  JWT_ACCESS_TTL: Seconds(900, 'access token lifetime in seconds'),
  JWT_REFRESH_TTL: Seconds(86_400, 'refresh token lifetime in seconds'),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  VOTE_THRESHOLD_PERIOD: Seconds(60, 'length of a content vote window in seconds'),
  VOTE_THRESHOLD_COUNT_LIMIT: Type.Integer({ minimum: 1, maximum: 1_000_000_000, default: 10 }),
  LOCK_DURATION: Seconds(120, 'how long a content stays locked after a burst, in seconds'),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 3000 }),
  RATE_LIMIT_AUTH_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 20 }),
  LOGIN_FAILURES_PER_ACCOUNT: Type.Integer({
    minimum: 2, maximum: 100_000_000, default: 10,
    description: 'failed logins of one account per 10 minutes from networks it has not logged in from; ' +
      'each network gets half (server/login-throttle.ts)',
  }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  CONSUMERS: Type.Integer({ minimum: 0, maximum: 64, default: 1, description: 'consumer processes npm start runs beside the API' }),
  CONSUMER_GROUP: Type.String({ pattern: '^[A-Za-z0-9:_.-]+$', default: 'tally-consumers' }),
  CONSUMER_NAME: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9:_.-]+$', description: 'unique per process; default <host>-<pid>' })),
  CONSUMER_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 50_000, default: 1000 }),
  CONSUMER_CONCURRENCY: Type.Integer({
    minimum: 1, maximum: 16, default: 2, description: 'batches a consumer applies at once, each on its own PostgreSQL connection',
  }),
  CONSUMER_BLOCK_MS: Type.Integer({ minimum: 1, maximum: 60_000, default: 1000 }),
  CONSUMER_LINGER_MS: Type.Integer({
    minimum: 0, maximum: 10_000, default: 25, description: 'after a short read, wait this long to fill the batch (0: never)',
  }),
  CONSUMER_CLAIM_IDLE_MS: Type.Integer({
    minimum: 100, maximum: 86_400_000, default: 3000,
    description: 'entries a consumer has not renewed for this long are taken over by the others (a live one renews every third of it)',
  }),
  CONSUMER_MAX_DELIVERIES: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  CONSUMER_METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 9465, description: '0 = no metrics endpoint' }),
  SUPERVISOR_RESTARTS: Type.Integer({
    minimum: 0, default: 0,
    description: 'set by npm start for the processes it runs: how often it restarted this one before; ' +
      'shown as tally_supervisor_restarts_total',
  }),
})

export type Env = Static<typeof EnvSchema>
// API_PROCESSES is resolved at load time: `auto` becomes this machine's core count.
export type Config = Readonly<Omit<Env, 'API_PROCESSES' | 'TRUST_PROXY'> & {
  API_PROCESSES: number
  TRUST_PROXY: TrustProxy
  JWT_SECRET: string
  warnings: readonly string[]
}>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Validate the environment once, at start-up. Throws a ConfigError naming the first bad variable
 * and what it expects, so a typo stops the process before it listens instead of failing later.
 */
export function loadConfig(env: Record<string, string | undefined> = readProcessEnv()): Config {
  const known = Value.Clean(EnvSchema, pickKnown(env))
  const value = Value.Convert(EnvSchema, Value.Default(EnvSchema, known))
  const bad = Value.Errors(EnvSchema, value).First()
  if (bad) {
    const name = bad.path.slice(1) || 'environment'
    const got = env[name] === undefined ? 'nothing' : JSON.stringify(env[name])
    throw new ConfigError(`invalid ${name}: ${expected(bad.schema) ?? bad.message} (got ${got})`)
  }
  const valid = value as Env
  const warnings: string[] = []
  if (valid.REDIS_CLUSTER_NODES !== undefined) {
    try {
      parseClusterNodes(valid.REDIS_CLUSTER_NODES)
    } catch (err) {
      throw new ConfigError(`invalid REDIS_CLUSTER_NODES: ${(err as Error).message} (got ${JSON.stringify(env.REDIS_CLUSTER_NODES)})`)
    }
    if (valid.VOTE_STREAM_SHARDS === 1) {
      warnings.push('REDIS_CLUSTER_NODES is set with VOTE_STREAM_SHARDS=1: every vote goes to one master; ' +
        'set VOTE_STREAM_SHARDS to a multiple of the masters')
    }
  }
  if (valid.METRICS_PORT === valid.PORT) throw new ConfigError(`invalid METRICS_PORT: must differ from PORT (both ${valid.PORT})`)
  let trustProxy: TrustProxy
  try {
    trustProxy = parseTrustProxy(valid.TRUST_PROXY)
  } catch (err) {
    throw new ConfigError(`invalid TRUST_PROXY: ${(err as Error).message} (got ${JSON.stringify(env.TRUST_PROXY)})`)
  }
  let secret = valid.JWT_SECRET
  if (secret === undefined || secret.length < MIN_SECRET_LENGTH) {
    if (valid.NODE_ENV === 'production') {
      throw new ConfigError(`invalid JWT_SECRET: must be at least ${MIN_SECRET_LENGTH} characters in production`)
    }
    // Outside production a throwaway secret keeps `npm start` a one-command affair; tokens die with the process.
    secret = randomBytes(32).toString('base64url')
    warnings.push('JWT_SECRET is missing or short: using a random one, tokens will not survive a restart')
  }
  // availableParallelism: the cores this process may run on: its CPU affinity and a cgroup CPU quota rounded down
  // (libuv >= 1.49, in Node 22), so `auto` follows a container's `cpus:` too.
  const apiProcesses = valid.API_PROCESSES === 'auto' ? Math.min(MAX_API_PROCESSES, availableParallelism()) : valid.API_PROCESSES
  return Object.freeze({
    ...valid, API_PROCESSES: apiProcesses, TRUST_PROXY: trustProxy, JWT_SECRET: secret, warnings: Object.freeze(warnings),
  })
}

/** TypeBox says only "Expected union value" for a union of a word and a number: spell the choices out. */
function expected(schema: TSchema): string | undefined {
  if (!schema.anyOf || !schema.anyOf.some((s: TSchema) => s.type === 'integer')) return undefined
  return `expected ${schema.anyOf
    .map((s: TSchema) => (s.type === 'integer' ? `a whole number from ${s.minimum} to ${s.maximum}` : JSON.stringify(s.const)))
    .join(' or ')}`
}

const DECIMAL_INTEGER = /^[0-9]+$/

/** An integer setting, or a union with an integer (API_PROCESSES) given anything but one of its words. */
function isIntegerSetting(schema: TSchema, raw: string): boolean {
  if (schema.type === 'integer') return true
  const choices: TSchema[] = schema.anyOf ?? []
  return choices.some((s) => s.type === 'integer') && !choices.some((s) => s.const === raw)
}

function pickKnown(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, schema] of Object.entries(EnvSchema.properties)) {
    const raw = env[key]?.trim()
    // An empty variable (FOO=) means "not set", as in most tools, so the default applies.
    if (raw === undefined || raw === '') continue
    // Value.Convert would read "1e3" as 1 and "80.5" as 80: numbers must be written plainly.
    if (isIntegerSetting(schema, raw) && !DECIMAL_INTEGER.test(raw)) {
      throw new ConfigError(`invalid ${key}: expected a whole number (got ${JSON.stringify(env[key])})`)
    }
    out[key] = raw
  }
  return out
}

/** The only place that reads process.env: `.env` fills in what the real environment leaves unset. */
export function readProcessEnv(envFile = '.env'): Record<string, string | undefined> {
  if (existsSync(envFile)) process.loadEnvFile(envFile)
  return process.env
}

/** EX_CONFIG: the exit code of a process that cannot start for a config reason (npm start does not restart it). */
export const EXIT_CONFIG = 78

/** For entry points: the config, or the bad variable on stderr and exit `exitCode`. */
export function loadConfigOrExit(processName: string, env?: Record<string, string | undefined>, exitCode = EXIT_CONFIG): Config {
  try {
    return loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(`${processName}: ${err.message}`)
    process.exit(exitCode)
  }
}
