// npm start on a bare machine: when the default DATABASE_URL / REDIS_URL has nobody answering, start a local
// PostgreSQL / Redis from the machine's binaries (installing them with apt-get when root), data under dataDir.
// A URL that answers is never touched; a non-default URL that does not answer is the user's to fix.
import { access, mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { lastLines, run } from '../devtools/processes.js'
import { findExecutable, isRoot } from './executables.js'
import { findPostgresBinaries, startPostgres } from './postgres.js'
import { endpointOf, probePostgres, probeRedis, type Endpoint, type ProbeResult } from './probe.js'
import { startRedis } from './redis.js'
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL } from '../shared/config.js'

export interface LocalServicesOptions {
  databaseUrl: string
  /** Undefined when Redis is a cluster (REDIS_CLUSTER_NODES): never started here. */
  redisUrl: string | undefined
  /** Data lives in <dataDir>/postgres and <dataDir>/redis (npm start passes the repo's .data/). */
  dataDir: string
  log: (msg: string) => void
  /** URLs besides the two defaults that may be started when silent: tests manage servers on free ports. */
  manage?: string[]
  /** PATH to search for binaries (pass process.env.PATH); the usual system directories are searched anyway. */
  searchPath?: string
}

export interface LocalServices {
  /** What was started, as logged ('PostgreSQL on 127.0.0.1:5432'); empty when every URL answered already. */
  started: readonly string[]
  stop(): Promise<void>
}

interface Running { stop(): Promise<void> }

interface Service {
  variable: 'DATABASE_URL' | 'REDIS_URL'
  product: 'PostgreSQL' | 'Redis'
  aptPackage: string
  url: string
  at: Endpoint
  probe(): Promise<ProbeResult>
  /** The starter when this machine has the binaries, undefined when they are missing. */
  prepare(): Promise<(() => Promise<Running>) | undefined>
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])
const normalize = (url: string) => url.trim().replace(/\/+$/, '')

/** The URL as it may be printed: a password never reaches a log line or an error message. */
function redact(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.href
}

function describeServices(opts: LocalServicesOptions, dataDir: string): Service[] {
  const pgAt = endpointOf(opts.databaseUrl, 5432)
  const postgres: Service = {
    variable: 'DATABASE_URL', product: 'PostgreSQL', aptPackage: 'postgresql', url: opts.databaseUrl, at: pgAt,
    probe: () => probePostgres(pgAt),
    prepare: async () => {
      const binaries = await findPostgresBinaries(join(dataDir, 'postgres'), opts.searchPath)
      return binaries === undefined ? undefined : () => startPostgres({ binaries, dataDir, at: pgAt, log: opts.log })
    },
  }
  if (opts.redisUrl === undefined) return [postgres]
  const redisAt = endpointOf(opts.redisUrl, 6379)
  return [postgres, {
    variable: 'REDIS_URL', product: 'Redis', aptPackage: 'redis-server', url: opts.redisUrl, at: redisAt,
    probe: () => probeRedis(redisAt),
    prepare: async () => {
      const redisServer = await findExecutable('redis-server', opts.searchPath)
      return redisServer === undefined ? undefined : () => startRedis(({ redisServer, dataDir, at: redisAt, log: opts.log }))
    },
  }]
}

/** The services nobody answers for, after checking that each one is ours to start; throws otherwise. */
async function silentServices(services: Service[], managed: Set<string>): Promise<Service[]> {
  const probed = await Promise.all(services.map(async (s) => ({ service: s, result: await s.probe() })))
  const problems: string[] = []
  for (const { service: s, result } of probed) {
    const where = `${s.variable}=${redact(s.url)}`
    if (result === 'foreign') {
      problems.push(`${where}: something that is not ${s.product} listens on ${s.at.host}:${s.at.port}; ` +
        `stop it or set ${s.variable} to a ${s.product} server`)
    } else if (result === 'silent' && !managed.has(normalize(s.url))) {
      problems.push(`${where} does not answer: start ${s.product} there, or unset ${s.variable} to let npm start ` +
        'run a local one')
    } else if (result === 'silent' && !LOOPBACK.has(s.at.host)) {
      problems.push(`${where} does not answer and is not a loopback address, where a local ${s.product} could start`)
    }
  }
  if (problems.length > 0) throw new Error(problems.join('; '))
  return probed.filter((p) => p.result === 'silent').map((p) => p.service)
}

/**
 * Installs the missing servers with apt-get (root only). Debian's postgresql package would otherwise create
 * and start its own "main" cluster, whose password auth on 127.0.0.1:5432 would shadow ours: a
 * createcluster.conf written before the first install tells postgresql-common not to, and --force-confold keeps it.
 */
async function aptInstall(services: Service[], log: (msg: string) => void): Promise<void> {
  const packages = services.map((s) => s.aptPackage)
  const clusterConf = '/etc/postgresql-common/createcluster.conf'
  if (packages.includes('postgresql') && !(await access(clusterConf).then(() => true, () => false))) {
    await mkdir('/etc/postgresql-common', { recursive: true })
    await writeFile(clusterConf, 'create_main_cluster = false\n')
  }
  log(`installing ${packages.join(' ')} with apt-get (once per machine)`)
  for (const args of [['apt-get', 'update'], ['apt-get', 'install', '-y', '--no-install-recommends',
    '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...packages]]) {
    // No debconf prompts; in our process group, so a Ctrl-C aborts a long install as the user expects.
    const { code, output } = await run('env', ['DEBIAN_FRONTEND=noninteractive', ...args], { interruptible: true })
    if (code !== 0) throw new Error(`${args.join(' ')} failed: ${lastLines(output, 10)}`)
  }
}

function notInstalledError(services: Service[]): Error {
  const products = services.map((s) => s.product).join(' and ')
  const variables = services.map((s) => `${s.variable}=${redact(s.url)}`).join(', ')
  const packages = services.map((s) => s.aptPackage).join(' ')
  return new Error(`${products} ${services.length > 1 ? 'are' : 'is'} not installed and nothing answers at ` +
    `${variables}: install ${services.length > 1 ? 'them' : 'it'} (Debian/Ubuntu: sudo apt-get install ${packages}) ` +
    `or set ${services.map((s) => s.variable).join(' / ')} to running servers`)
}

export async function ensureLocalServices(opts: LocalServicesOptions): Promise<LocalServices> {
  const dataDir = resolve(opts.dataDir)
  const managed = new Set([DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, ...(opts.manage ?? [])].map(normalize))
  let needed = await silentServices(describeServices(opts, dataDir), managed)
  if (needed.length === 0) return { started: [], stop: async () => {} }

  let starters = await Promise.all(needed.map((s) => s.prepare()))
  const missing = needed.filter((_, i) => !starters[i])
  if (missing.length > 0) {
    const hasApt = await findExecutable('apt-get', opts.searchPath)
    if (!isRoot() || !hasApt) throw notInstalledError(missing)
    await aptInstall(missing, opts.log)
    // The packages' own service may now be answering (Debian starts redis-server): then it is not ours to start.
    needed = await silentServices(needed, managed)
    starters = await Promise.all(needed.map((s) => s.prepare()))
    const stillMissing = needed.filter((_, i) => !starters[i])
    if (stillMissing.length > 0) throw notInstalledError(stillMissing)
  }

  const results = await Promise.allSettled(starters.map((start) => start!()))
  const running = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failure) {
    // All or nothing: a half-started pair would outlive the failed npm start with nobody to stop it.
    await Promise.allSettled(running.map((r) => r.stop()))
    throw failure.reason
  }
  let stopping: Promise<void> | undefined
  const stopAll = async () => {
    const outcomes = await Promise.allSettled(running.map((r) => r.stop()))
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')
    if (failed) throw failed.reason
  }
  return { started: needed.map((s) => `${s.product} on ${s.at.host}:${s.at.port}`), stop: () => (stopping ??= stopAll()) }
}
