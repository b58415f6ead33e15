import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import { DUPLICATE_DATABASE, pgErrorCode, UNIQUE_VIOLATION } from './errors.js'

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url))
// Any constant works; it only has to be the same for every process that migrates this database.
const MIGRATION_LOCK_KEY = 7_310_201

/** Create the database named in `url` when it does not exist yet. */
export async function createDatabaseIfMissing(url: string): Promise<boolean> {
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.slice(1))
  if (!name) throw new Error('DATABASE_URL names no database')
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    const [row] = await sql`select 1 from pg_database where datname = ${name}`
    if (row) return false
    await sql`create database ${sql(name)}`
    return true
  } catch (err) {
    // Two processes racing: the loser gets 42P04, or 23505 from the catalog's unique index.
    const code = pgErrorCode(err)
    if (code === DUPLICATE_DATABASE || code === UNIQUE_VIOLATION) return false
    throw err
  } finally {
    await sql.end()
  }
}

/**
 * Apply the committed migrations on one connection, under an advisory lock, so several migrating processes
 * (npm start's launcher, `npm run db:migrate`, `npm run import:django`, test runs) can start at once without
 * racing each other.
 */
export async function migrateDatabase(url: string): Promise<{ created: boolean }> {
  const created = await createDatabaseIfMissing(url)
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`
    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_DIR })
    await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`
  } finally {
    await sql.end()
  }
  return { created }
}
