// A PostgreSQL cluster of our own on a loopback port: npm start's (and CI's, through npm start's bring-up) or a fault
// test's throwaway one (test/throwaway.ts). initdb once into <dataDir>/postgres, pg_ctl start/stop around the run.
import { access, chown, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { lastLines, run, runOrThrow } from '../devtools/processes.js'
import { debianPostgresBinDirs, findExecutable, isRoot } from './executables.js'
import type { Endpoint } from './probe.js'

export interface PostgresBinaries { initdb: string; pgCtl: string }

const exists = (path: string) => access(path).then(() => true, () => false)

/**
 * initdb and pg_ctl from one bin directory (mixing majors corrupts nothing but fails confusingly). A data
 * directory made earlier pins its major: its PG_VERSION's bin directory is tried first.
 */
export async function findPostgresBinaries(pgdata: string, searchPath?: string): Promise<PostgresBinaries | undefined> {
  const major = (await readFile(join(pgdata, 'PG_VERSION'), 'utf8').catch(() => '')).trim()
  const dirs = await debianPostgresBinDirs()
  const pinned = dirs.filter((dir) => major !== '' && dir.endsWith(`/${major}/bin`))
  const initdb = await findExecutable('initdb', searchPath, [...pinned, ...dirs])
  if (!initdb) return undefined
  const pgCtl = join(dirname(initdb), 'pg_ctl')
  return (await exists(pgCtl)) ? { initdb, pgCtl } : undefined
}

/** PostgreSQL refuses to run as root: as root, every server-side command runs as the postgres system user. */
const asPostgres = (cmd: string, args: string[]): [string, string[]] =>
  isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]

/** As root: make <dataDir>/postgres and the log file the postgres user's, after checking it can reach them. */
async function handOverToPostgresUser(dataDir: string, pgdata: string, logFile: string): Promise<void> {
  const uid = await run('id', ['-u', 'postgres'])
  const gid = await run('id', ['-g', 'postgres'])
  if (uid.code !== 0 || gid.code !== 0) {
    throw new Error('PostgreSQL does not run as root and there is no "postgres" system user to run it as: ' +
      'install PostgreSQL from your distribution (apt-get install postgresql) or run npm start as a normal user')
  }
  const reachable = await run(...asPostgres('test', ['-x', dataDir]))   // -x on the dir needs x on every parent
  if (reachable.code !== 0) {
    throw new Error(`the postgres system user cannot enter ${dataDir}: make it and every parent directory ` +
      'searchable (chmod o+x), or run npm start as a normal user')
  }
  await writeFile(logFile, '', { flag: 'a' })
  await chown(pgdata, Number(uid.output), Number(gid.output))
  await chown(logFile, Number(uid.output), Number(gid.output))
}

// The shell inside pg_ctl re-parses -o: quote what we pass through it.
const shellQuote = (value: string) => `'${value.replace(/'/g, '\'\\\'\'')}'`

/** A loopback host from the URL, as listen_addresses spells it ('localhost' covers 127.0.0.1 and ::1). */
const listenAddressOf = (host: string) => (host === 'localhost' ? 'localhost' : host)

export interface LocalPostgres {
  /** pg_ctl stop (idempotent: every caller awaits the one shutdown). */
  stop(): Promise<void>
}

export interface StartPostgresOptions {
  binaries: PostgresBinaries
  dataDir: string
  at: Endpoint
  log: (msg: string) => void
  /**
   * true (the default): every commit on disk before it is acknowledged. false: initdb --no-sync and fsync=off,
   * for a throwaway cluster whose data need not outlive a machine crash (a test's; the tests run faster for it).
   */
  durable?: boolean
  /**
   * 'fast' (the default): open transactions are rolled back and clients cut off, rather than waiting for them
   * to leave. 'immediate': no shutdown checkpoint either, as a crash would leave it (a fault test's).
   */
  stopMode?: 'fast' | 'immediate'
}

/**
 * Starts a cluster in <dataDir>/postgres, creating it on first use: superuser postgres, trust auth (it listens
 * on loopback only), UTF8 with the C locale (no dependency on the machine's locales). Returns its stop().
 */
export async function startPostgres(opts: StartPostgresOptions): Promise<LocalPostgres> {
  const { binaries, dataDir, at, log, durable = true, stopMode = 'fast' } = opts
  const pgdata = join(dataDir, 'postgres')
  const logFile = join(dataDir, 'postgres.log')
  await mkdir(dataDir, { recursive: true })
  await mkdir(pgdata, { recursive: true, mode: 0o700 })
  if (isRoot()) await handOverToPostgresUser(dataDir, pgdata, logFile)

  if (!(await exists(join(pgdata, 'PG_VERSION')))) {
    log(`creating a PostgreSQL cluster in ${pgdata}`)
    await runOrThrow(...asPostgres(binaries.initdb, ['-D', pgdata, '-U', 'postgres', '--auth=trust',
      '--encoding=UTF8', '--locale=C', ...(durable ? [] : ['--no-sync'])]))
  }

  // The socket lives in the data directory, never in /var/run/postgresql (root's, and the system cluster's).
  // sun_path holds ~107 bytes: a deeper data directory gets no unix socket, which TCP-only clients never miss.
  const socketDir = join(pgdata, `.s.PGSQL.${at.port}`).length < 100 ? pgdata : ''
  const serverOptions = [`-c listen_addresses=${shellQuote(listenAddressOf(at.host))}`, `-p ${at.port}`,
    `-c unix_socket_directories=${shellQuote(socketDir)}`, ...(durable ? [] : ['-c fsync=off'])].join(' ')
  log(`starting PostgreSQL on ${at.host}:${at.port} (data ${pgdata}, log ${logFile})`)
  const started = await run(...asPostgres(binaries.pgCtl, ['start', '-w', '-t', '60', '-D', pgdata, '-l', logFile,
    '-o', serverOptions]))
  if (started.code !== 0) {
    const serverLog = await readFile(logFile, 'utf8').catch(() => '')
    throw new Error(`PostgreSQL did not start: ${lastLines(started.output, 3)}\n${lastLines(serverLog, 10)}`)
  }

  let stopping: Promise<void> | undefined
  const where = `PostgreSQL on ${at.host}:${at.port}`
  const stop = async () => {
    log(`stopping ${where} (${stopMode} shutdown)`)
    const { code, output } = await run(...asPostgres(binaries.pgCtl, ['stop', '-D', pgdata, '-m', stopMode, '-w']))
    // Exit 3 from status = not running: someone stopped it first, which is what stop() wanted anyway.
    if (code !== 0 && (await run(...asPostgres(binaries.pgCtl, ['status', '-D', pgdata]))).code !== 3) {
      throw new Error(`pg_ctl stop failed: ${lastLines(output, 5)}`)
    }
    log(`${where} stopped`)
  }
  return { stop: () => (stopping ??= stop()) }   // idempotent: every caller awaits the one shutdown
}
