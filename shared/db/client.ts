import postgres from 'postgres'
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { PgDialect } from 'drizzle-orm/pg-core'
import { Placeholder, type SQL } from 'drizzle-orm'
import * as schema from './schema.js'
import { backoffMs } from '../backoff.js'

export type Db = PostgresJsDatabase<typeof schema> & {
  close(): Promise<void>
  /**
   * Run a drizzle `sql` query as a named prepared statement: PostgreSQL parses and plans it once per
   * connection instead of every time (drizzle's execute() sends unnamed statements). For hot reads.
   */
  queryPrepared<T>(query: SQL): Promise<T[]>
  /**
   * queryPrepared for a hot query, with its SQL text built once (drizzle builds it anew on every call,
   * ~7 us per read): the values named by sql.placeholder('name') are bound on each call.
   */
  compileQuery<T>(query: SQL): (values: Record<string, unknown>) => Promise<T[]>
}

export interface DbOptions {
  max?: number
  /** Seconds to wait for a connection before a query fails; keeps requests bounded when PostgreSQL is gone. */
  connectTimeoutSeconds?: number
  /** application_name of the connections: pg_stat_activity (and the bench) tells the API's from a consumer's. */
  name?: string
  /** Session settings sent when each connection starts (e.g. `{ jit: 'off' }`). */
  settings?: Record<string, string>
}

export function createDb(url: string, opts: DbOptions = {}): Db {
  const client = postgres(url, {
    max: opts.max ?? 10,
    connect_timeout: opts.connectTimeoutSeconds ?? 5,
    // Between failed connection attempts postgres.js waits up to 20 s by default, and queries wait with it:
    // with PostgreSQL down a read took 15 s to get its 503. A short, capped wait keeps answers prompt;
    // the consumer's own retry loop does the backing off that matters.
    // postgres.js counts attempts from 1 and wants seconds.
    backoff: (attempt: number) => backoffMs(attempt - 1, { baseMs: 50, maxMs: 250 }) / 1000,
    onnotice: () => {},
    ...(opts.name || opts.settings ? { connection: { ...opts.settings, ...(opts.name ? { application_name: opts.name } : {}) } } : {}),
    // bigint columns (vote_sum; version, int8 since migration 0004) stay exact: postgres.js hands them back as strings by default.
  })
  const db = drizzle(client, { schema }) as unknown as Db
  let closing: Promise<void> | undefined
  db.close = () => (closing ??= client.end({ timeout: 5 }))
  const dialect = new PgDialect()
  db.queryPrepared = async <T>(query: SQL) => {
    const { sql, params } = dialect.sqlToQuery(query)
    return await client.unsafe(sql, params as never[], { prepare: true }) as unknown as T[]
  }
  db.compileQuery = <T>(query: SQL) => {
    const { sql, params } = dialect.sqlToQuery(query)
    return async (values: Record<string, unknown>) => {
      const bound = params.map((p) => (p instanceof Placeholder ? values[p.name] : p))
      return await client.unsafe(sql, bound as never[], { prepare: true }) as unknown as T[]
    }
  }
  return db
}
