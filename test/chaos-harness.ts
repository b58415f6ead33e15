/**
 * The chaos suite's world (test/chaos.test.ts): a PostgreSQL and a Redis (AOF, fsync always) of the test's
 * own, so either can be killed; the API and consumers as real processes on them; 200 users voting over 200
 * contents through HTTP, every answer recorded; and the check every fault ends with: each newest 202 is the
 * stored vote, no votes row without a 202, `npm run audit` clean (totals and whole path), no process left.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import { sql } from 'drizzle-orm'
import { createSigner } from 'fast-jwt'
import { entryVersion } from '../shared/entry-version.js'
import { parseReceipt } from '../server/vote-receipt.js'
import { audit, formatReport } from '../audit/audit.js'
import { migrateDatabase } from '../shared/db/migrate.js'
import { redisKeys } from '../shared/redis/keys.js'
import { key, openDb, openRedis, seedContents, seedUsers, seededRandom, waitForDrained } from './consumer-helpers.js'
import { withDatabase } from './databases.js'
import { waitFor } from './helpers.js'
import { startNode, stopProcess, type Started } from './processes.js'
import { freePort } from '../devtools/ports.js'
import { throwawayPostgres, throwawayRedis } from './throwaway.js'

const SECRET = 'chaos-suite-secret-that-is-long-enough-0123456789'
const GROUP = 'tally-consumers'
const PREFIX = 'tally:'

/** `id`: a 202's stream entry id, taken from its receipt (server/vote-receipt.ts). */
export interface Answer { user: number; content: number; score: number; status: number; id?: string; code?: string; at: number }

export interface FaultRow {
  fault: string
  sent: number
  accepted: number
  refused: string
  lost: number
  doubled: number
  audit: string
  /** From the fault's end (healed) until every accepted vote was applied. */
  caughtUpMs: number
}

/** Every row of this run, for the table the suite prints at its end (test/chaos.test.ts). */
export const rows: FaultRow[] = []

export async function chaosWorld(t: TestContext, { users: userCount = 200, contents: contentCount = 200, consumers = 3 } = {}) {
  const pg = await throwawayPostgres(t)
  const databaseUrl = withDatabase(pg.url, 'tally')
  await migrateDatabase(databaseUrl)
  const redisServer = await throwawayRedis(t, { aof: true })
  const db = openDb(t, databaseUrl)
  const redis = openRedis(t, redisServer.url)
  const keys = redisKeys(PREFIX)
  const users = await seedUsers(db, userCount)
  const contents = await seedContents(db, contentCount)
  const sign = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 3600_000 })
  const tokens = new Map(users.map((id) => [id, sign({ sub: String(id), token_type: 'access', jti: randomUUID() })]))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const env = {
    ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: databaseUrl,
    REDIS_URL: redisServer.url, REDIS_PREFIX: PREFIX, JWT_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '100000000',
    VOTE_THRESHOLD_COUNT_LIMIT: '1000000000', METRICS_PORT: '0', CONSUMER_METRICS_PORT: '0', CONSUMER_BLOCK_MS: '200',
    SHUTDOWN_GRACE_MS: '3000',
  }
  const processes: Started[] = []
  const startApi = async () => {
    const api = startNode(t, 'server/main.ts', { env })
    processes.push(api)
    await waitFor(async () => {
      if (api.child.exitCode !== null) throw new Error(`the API exited: ${api.output()}`)
      return (await fetch(`${base}/health/live`)).ok
    }, { timeoutMs: 30_000, what: 'the API to answer' })
    return api
  }
  const startConsumer = (name: string) => {
    const consumer = startNode(t, 'consumer/main.ts', { env: { ...env, CONSUMER_NAME: name } })
    processes.push(consumer)
    return consumer
  }
  const api = { current: await startApi() }
  const consumerProcs = Array.from({ length: consumers }, (_, i) => startConsumer(`chaos-${i + 1}`))

  const random = seededRandom(2026)
  const answers: Answer[] = []
  let voting = false
  let load: Promise<unknown> | undefined
  const castOne = async (): Promise<void> => {
    const v = { user: users[random(users.length)]!, content: contents[random(contents.length)]!, score: random(6) }
    try {
      const res = await fetch(`${base}/api/vote/`, {
        method: 'POST', headers: { authorization: `Bearer ${tokens.get(v.user)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: v.content, score: v.score }), signal: AbortSignal.timeout(5000),
      })
      const body = await res.json().catch(() => ({})) as { id?: string; code?: string }
      const id = res.status === 202 ? parseReceipt(body.id!)?.entryId : undefined
      answers.push({ ...v, status: res.status, id, code: body.code, at: Date.now() })
    } catch {
      // No answer (the API died under it, or the socket closed): not a 202, so nothing is owed.
      answers.push({ ...v, status: 0, at: Date.now() })
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  return {
    pg, redisServer, db, redis, keys, base, env, api, consumers: consumerProcs, answers, startApi, startConsumer,
    /** Voting from `concurrency` clients until stopVoting(). */
    startVoting(concurrency = 16) {
      voting = true
      load = Promise.all(Array.from({ length: concurrency }, async () => {
        // eslint-disable-next-line no-unmodified-loop-condition -- stopVoting() sets it to false
        while (voting) await castOne()
      }))
    },
    async stopVoting() {
      voting = false
      await load
    },
    /** Until `n` more answers have come. */
    async votesPass(n: number) {
      const target = answers.length + n
      await waitFor(() => answers.length >= target, { timeoutMs: 60_000, what: `${n} more answers` })
    },
    /** Every accepted vote applied, then the checks; the row for the suite's table. */
    async verify(fault: string, healedAt: number): Promise<{ row: FaultRow; lost: Answer[]; report: Awaited<ReturnType<typeof audit>> }> {
      await waitForDrained(redis, keys.stream(0), 60_000)
      const caughtUpMs = Date.now() - healedAt
      const newest = new Map<string, Answer>()
      for (const a of answers) {
        if (a.status !== 202) continue
        const seen = newest.get(key(a.user, a.content))
        if (!seen || entryVersion(seen.id!)! < entryVersion(a.id!)!) newest.set(key(a.user, a.content), a)
      }
      const rows = await db.execute<{ user_id: number; content_id: number; score: number; version: string }>(
        sql`select user_id, content_id, score, version::text as version from votes`)
      const stored = new Map(rows.map((r) => [key(r.user_id, r.content_id), { score: r.score, version: BigInt(r.version) }]))
      // Answers that do not say whether the vote was taken: none at all, or 503 queue_unavailable (Redis went away
      // with the script's reply in flight: docs/api.md says it "may or may not be in", and a retry is harmless).
      const undecided = (a: Answer) => a.status === 0 || (a.status === 503 && a.code === 'queue_unavailable')
      const unanswered = new Set(answers.filter(undecided).map((a) => key(a.user, a.content)))
      const lost = [...newest.values()].filter((a) => {
        const s = stored.get(key(a.user, a.content))
        const v = entryVersion(a.id!)!
        return s === undefined || s.version < v || (s.version === v && s.score !== a.score)
      })
      // A vote stored that no 202 stands for: only a request without a definite answer may have been taken;
      // anything else is counted without being accepted. Counted twice in a content's totals would show in the audit.
      const doubled = [...stored].filter(([k, s]) => {
        const a = newest.get(k)
        return (a === undefined || s.version > entryVersion(a.id!)!) && !unanswered.has(k)
      }).length
      const report = await audit(db, redis, keys, GROUP)
      const refusedBy = new Map<string, number>()
      for (const a of answers) {
        if (a.status === 202) continue
        const reason = a.status === 0 ? 'no answer' : String(a.status)
        refusedBy.set(reason, (refusedBy.get(reason) ?? 0) + 1)
      }
      const row: FaultRow = {
        fault, sent: answers.length, accepted: answers.filter((a) => a.status === 202).length,
        refused: [...refusedBy].map(([k, n]) => `${n} ${k}`).join(', ') || 'none', lost: lost.length, doubled,
        audit: report.ok ? 'clean' : report.ledger.map((l) => l.unaccounted).join(' ') + ' unaccounted', caughtUpMs,
      }
      return { row, lost, report }
    },
    /** The checks a fault passes: nothing lost, nothing doubled, audit clean; then every process stops cleanly. */
    async assertSurvived(t: TestContext, fault: string, healedAt: number): Promise<FaultRow> {
      const { row, lost, report } = await this.verify(fault, healedAt)
      t.diagnostic(tableRow(row))
      rows.push(row)
      assert.deepEqual(lost.map((a) => `${a.user}:${a.content} ${a.id}`), [], 'every newest 202 is the stored vote')
      assert.equal(row.doubled, 0, 'no votes row without a 202')
      assert.equal(report.ok, true, formatReport(report))
      assert.ok(row.accepted > 0)
      for (const p of processes) await stopProcess(p, 'SIGTERM')
      const left = processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null)
      assert.deepEqual(left.map((p) => p.name), [], 'no process left behind')
      return row
    },
  }
}

export const TABLE_HEAD = '| fault | votes sent | 202 | refused | 202s lost | stored without a 202 | audit | applied after healing |\n' +
  '|---|---|---|---|---|---|---|---|'
export const tableRow = (r: FaultRow) =>
  `| ${r.fault} | ${r.sent} | ${r.accepted} | ${r.refused} | ${r.lost} | ${r.doubled} | ${r.audit} | ` +
  `${(r.caughtUpMs / 1000).toFixed(1)} s |`
