/**
 * The Django import's tests share these: an old database in the Django service's schema (django-import/old-schema.sql)
 * of the test's own, its rows as the old service wrote them, password hashes as Django's hashers make them, and
 * `npm run import:django` run as the operator runs it.
 */
import type { TestContext } from 'node:test'
import { pbkdf2Sync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import postgres from 'postgres'
import { withDatabase } from './databases.js'
import { uniqueName } from './helpers.js'
import { exitCodeOf, startNode } from './processes.js'

// Python's hashlib, as Django's PBKDF2PasswordHasher: "1234".
export const HASH_1234 = 'pbkdf2_sha256$1000$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o='

/** Django's PBKDF2PasswordHasher hash of `password` (base64 of pbkdf2_hmac sha256, 32 bytes). */
export const djangoPbkdf2 = (password: string, salt = 'pepper', iterations = 1000) =>
  `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64')}`

/** An auth_user row as Django writes it: password "1234", active, joined 2020-01-02. */
export const oldUser = (id: number, username: string, over: Record<string, unknown> = {}) => ({
  id, password: HASH_1234, last_login: null, is_superuser: false, username, first_name: 'F', last_name: 'L',
  email: `${username}@example.com`, is_staff: false, is_active: true, date_joined: new Date('2020-01-02T03:04:05Z'), ...over,
})

export const oldContent = (id: number, title = `old ${id}`) =>
  ({ id, created_at: new Date('2021-05-06T07:08:09.123456Z'), title, description: 'from django', average_vote: 4.9 })

/** An empty database in the old schema, dropped when the test ends; `old` is a client on it for the test's rows. */
export async function oldDatabase(t: TestContext): Promise<{ url: string; old: postgres.Sql }> {
  const url = withDatabase(process.env.DATABASE_URL!, uniqueName('django_old'))
  const admin = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => {} })
  const name = new URL(url).pathname.slice(1)
  await admin`create database ${admin(name)}`
  const old = postgres(url, { max: 1, onnotice: () => {} })
  t.after(async () => {
    await old.end()
    await admin`drop database if exists ${admin(name)} with (force)`
    await admin.end()
  })
  await old.unsafe(readFileSync(new URL('../django-import/old-schema.sql', import.meta.url), 'utf8'))
  return { url, old }
}

/** `npm run import:django -- --from <from> <args>` into `to`, with `prefix` for the content index, started. */
export const startImport = (t: TestContext, from: string, to: string, prefix: string, args: string[] = []) =>
  startNode(t, 'cli/import-django.ts', {
    args: ['--from', from, ...args],
    env: { ...process.env, DATABASE_URL: to, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn' },
  })

/** The same, run to its end: its exit code, report (stdout) and progress and refusals (stderr). */
export async function runImport(t: TestContext, from: string, to: string, prefix: string, args: string[] = []) {
  const cli = startImport(t, from, to, prefix, args)
  return { code: await exitCodeOf(cli, 60_000), out: cli.stdout(), err: cli.stderr() }
}
