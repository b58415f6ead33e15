// tally as deployed on a Redis Cluster: a throwaway 3-master, 3-replica cluster, the API process and two
// consumer processes started with REDIS_CLUSTER_NODES and VOTE_STREAM_SHARDS=6, votes from many users over
// many contents over HTTP. Every 202 must reach PostgreSQL (the newest per user and content) and
// `npm run audit` must pass; then one master is SIGKILLed while voting goes on, its replica takes over,
// and the same must hold apart from the failover loss window docs/scaling.md states: votes the dying
// master acknowledged that had not reached its replica yet (asynchronous replication).
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { createSigner } from 'fast-jwt'
import { entryVersion } from '../shared/entry-version.js'
import { parseReceipt } from '../server/vote-receipt.js'
import { closeRedis, createRedis, type RedisClient } from '../shared/redis/client.js'
import { redisKeys, type RedisKeys } from '../shared/redis/keys.js'
import { shardsBacklog } from '../shared/redis/stream-info.js'
import { key, openDb, seededRandom, seedUsers } from './consumer-helpers.js'
import { emptyDatabase, waitFor } from './helpers.js'
import { exitCodeOf, startNode, type Started } from './processes.js'
import { freePort } from '../devtools/ports.js'
import { throwawayCluster, type ThrowawayCluster } from './throwaway.js'

const SHARDS = 6
const SECRET = 'cluster-test-secret-that-is-long-enough-0123456789'
const GROUP = 'tally-consumers'
/** VOTE_THRESHOLD_COUNT_LIMIT: far above what the random votes put on one content in a window. */
const LIMIT = 300
/**
 * The loss window asserted: a vote lost in the failover must have been acknowledged at most this long
 * before the master died. Replication to the replica runs continuously; on loopback it lags by well
 * under a millisecond, so this bound only says that nothing older than a moment is ever lost.
 */
const LOSS_WINDOW_MS = 1000

/** `id`: a 202's stream entry id, taken from its receipt (server/vote-receipt.ts). */
interface Answer { user: number; content: number; score: number; status: number; id?: string; code?: string; at: number }

async function tallyOnCluster(t: TestContext, cluster: ThrowawayCluster, over: Record<string, string> = {}) {
  const databaseUrl = await emptyDatabase(t)
  const db = openDb(t, databaseUrl)
  const port = await freePort()
  const metricsPort = await freePort()
  const env = {
    ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port),
    METRICS_PORT: String(metricsPort), DATABASE_URL: databaseUrl,
    // REDIS_URL stays the machine's Redis: nothing may use it once the cluster is named.
    REDIS_CLUSTER_NODES: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','), REDIS_PREFIX: 'tally:',
    VOTE_STREAM_SHARDS: String(SHARDS), JWT_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '10000000', VOTE_THRESHOLD_COUNT_LIMIT: String(LIMIT),
    CONSUMER_METRICS_PORT: '0', CONSUMER_BATCH_SIZE: '200', CONSUMER_CLAIM_IDLE_MS: '2000', ...over,
  }
  const api = startNode(t, 'server/main.ts', { env })
  const base = `http://127.0.0.1:${port}`
  await waitFor(async () => {
    if (api.child.exitCode !== null) throw new Error(`the API exited: ${api.output()}`)
    return (await fetch(`${base}/health/ready`)).ok
  }, { timeoutMs: 30_000, what: 'the API to be ready' })
  const consumers = [0, 1].map((i) => startNode(t, 'consumer/main.ts', { env: { ...env, CONSUMER_NAME: `cluster-consumer-${i}` } }))
  const keys = redisKeys('tally:', SHARDS)
  const redis = createRedis({ cluster: { nodes: cluster.startupNodes, tls: false } })
  t.after(() => closeRedis(redis))
  return { db, env, base, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, api, consumers, keys, redis }
}

const sign = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 3600_000 })

async function createContent(base: string, token: string, title: string): Promise<number> {
  const res = await fetch(`${base}/api/contents/`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title, description: 'made on a cluster' }),
  })
  const body = await res.text()
  assert.equal(res.status, 201, body)
  return (JSON.parse(body) as { id: number }).id
}

/** POST /api/vote/ for each vote, `concurrency` at a time; each answer with the moment it arrived. */
async function castAll(
  base: string, tokens: Map<number, string>, votes: Omit<Answer, 'status' | 'at'>[], concurrency: number
): Promise<Answer[]> {
  const answers: Answer[] = []
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < votes.length) {
      const v = votes[next++]!
      answers.push(await castOne(base, tokens, v))
    }
  }))
  return answers
}

async function castOne(base: string, tokens: Map<number, string>, v: Omit<Answer, 'status' | 'at'>): Promise<Answer> {
  try {
    const res = await fetch(`${base}/api/vote/`, {
      method: 'POST', headers: { authorization: `Bearer ${tokens.get(v.user)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: v.content, score: v.score }),
    })
    const body = await res.json() as { id?: string; code?: string }
    const id = res.status === 202 ? parseReceipt(body.id!)?.entryId : undefined
    return { ...v, status: res.status, id, code: body.code, at: Date.now() }
  } catch {
    return { ...v, status: 0, at: Date.now() }
  }
}

/** The newest 202 per (user, content): stream ids of one pair share its shard, so their versions compare. */
function newest202s(answers: readonly Answer[]): Map<string, Answer> {
  const out = new Map<string, Answer>()
  for (const a of answers) {
    if (a.status !== 202) continue
    const seen = out.get(key(a.user, a.content))
    if (!seen || entryVersion(seen.id!)! < entryVersion(a.id!)!) out.set(key(a.user, a.content), a)
  }
  return out
}

async function storedVersions(db: ReturnType<typeof openDb>): Promise<Map<string, { score: number; version: bigint }>> {
  const rows = await db.execute<{ user_id: number; content_id: number; score: number; version: string }>(
    sql`select user_id, content_id, score, version::text as version from votes`)
  return new Map(rows.map((r) => [key(r.user_id, r.content_id), { score: r.score, version: BigInt(r.version) }]))
}

async function waitForApplied(redis: RedisClient, keys: RedisKeys) {
  const streams = Array.from({ length: SHARDS }, (_, s) => keys.stream(s))
  await waitFor(async () => (await shardsBacklog(redis, streams, GROUP)) === 0, {
    timeoutMs: 60_000, intervalMs: 100, what: 'every shard to be applied',
  })
}

async function runAudit(t: TestContext, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const run: Started = startNode(t, 'cli/audit.ts', { env })
  const code = await exitCodeOf(run, 30_000)
  return { code, out: run.output() }
}

test('API and 2 consumers on a 3-master Redis Cluster with 6 shards: every 202 reaches PostgreSQL and the audit passes, ' +
  'before and after a master is SIGKILLed', async (t) => {
  const cluster = await throwawayCluster(t)
  const { db, env, base, metricsUrl, api, consumers, keys, redis } = await tallyOnCluster(t, cluster)
  const users = await seedUsers(db, 150)
  const tokens = new Map(users.map((id) => [id, sign({ sub: String(id), token_type: 'access', jti: randomUUID() })]))

  // An account made and logged in through the API: its rate limit counts in Redis, on the cluster.
  const signUp = { username: 'cluster-user', password: 'correct horse battery' }
  for (const [path, status, remaining] of [['register', 201, '19'], ['auth', 200, '19']] as const) {
    const res = await fetch(`${base}/api/${path}/`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signUp),
    })
    assert.equal(res.status, status, await res.text())
    // One count per client and route, in Redis (a failing store would fail open, with no count to show).
    assert.equal(res.headers.get('x-ratelimit-remaining'), remaining, `${path}: RATE_LIMIT_AUTH_PER_MINUTE (20) counted on the cluster`)
  }

  // Contents made through the API: their existence bits go to the shards' bitmaps on the cluster.
  const contentIds: number[] = []
  for (let i = 0; i < 120; i++) contentIds.push(await createContent(base, tokens.get(users[0]!)!, `cluster content ${i}`))
  assert.deepEqual(new Set(contentIds.map((id) => keys.shardOf(id))).size, SHARDS, 'the contents cover every shard')

  const random = seededRandom(10)
  const some = (n: number) => Array.from({ length: n }, () => ({
    user: users[random(users.length)]!, content: contentIds[random(contentIds.length)]!, score: random(6),
  }))

  /** The first two list pages (every content here), as a reader sees them: possibly from the API's page cache. */
  const listPage = async () => {
    const shown = new Map<number, { id: number; vote_count: number; locked_until: string | null }>()
    for (const page of [1, 2]) {
      const res = await fetch(`${base}/api/contents/?page_size=100&page=${page}`)
      assert.equal(res.status, 200, await res.clone().text())
      const { results } = await res.json() as { results: { id: number; vote_count: number; locked_until: string | null }[] }
      for (const c of results) shown.set(c.id, c)
    }
    return shown
  }

  const metric = async (name: string) => Number((await (await fetch(metricsUrl)).text()).match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1])

  await t.test('4000 votes of 150 users over 120 contents: all 202, all in PostgreSQL, audit clean, ' +
    'and the cached list shows the new counts', async () => {
    // Subscribed on a cluster node: list pages are kept in memory, and only announcements on the cluster make them go.
    assert.equal(await metric('tally_read_changes_subscribed'), 1)
    const cached = await listPage()
    assert.ok([...cached.values()].every((c) => c.vote_count === 0))
    const answers = await castAll(base, tokens, some(4000), 40)
    assert.deepEqual(answers.filter((a) => a.status !== 202).map((a) => `${a.status} ${a.code}`), [], api.output().slice(-4000))
    await waitForApplied(redis, keys)
    const stored = await storedVersions(db)
    const expected = newest202s(answers)
    const wrong = [...expected].filter(([k, a]) => stored.get(k)?.version !== entryVersion(a.id!) || stored.get(k)?.score !== a.score)
    assert.deepEqual(wrong.map(([k]) => k), [], 'every newest 202 is the stored vote')
    assert.equal(stored.size, expected.size, 'no vote without a 202')
    const audit = await runAudit(t, env)
    assert.equal(audit.code, 0, audit.out)
    // The consumers announce each commit on the cluster; the API's subscriber (on any node) drops the page it kept.
    const counts = await db.execute<{ id: number; vote_count: number }>(sql`select id, vote_count from contents`)
    const shown = await listPage()
    assert.deepEqual(counts.filter((c) => shown.get(c.id)?.vote_count !== c.vote_count).map((c) => c.id), [], 'the list shows every count')
  })

  await t.test(`a burst of 400 votes on one content is stopped at exactly ${LIMIT}, and the cached list shows the lock`, async () => {
    const hot = await createContent(base, tokens.get(users[0]!)!, 'the hot one')
    const before = await listPage()
    assert.equal(before.get(hot)?.locked_until, null)
    const burst = Array.from({ length: 400 }, (_, i) => ({ user: users[i % users.length]!, content: hot, score: 5 }))
    const answers = await castAll(base, tokens, burst, 50)
    assert.equal(answers.filter((a) => a.status === 202).length, LIMIT)
    assert.deepEqual([...new Set(answers.filter((a) => a.status !== 202).map((a) => `${a.status} ${a.code}`))], ['429 content_locked'])
    // vote.lua announces the lock on the cluster: the page kept since `before` goes, and the next one shows it.
    await waitFor(async () => (await listPage()).get(hot)?.locked_until !== null, { timeoutMs: 5000, what: 'the list to show the lock' })
    assert.equal(await metric('tally_locks_set_total'), 1, 'the API heard the lock announced')
  })

  await t.test('a shard\'s slot moved to another master while votes keep coming: every 202 still reaches PostgreSQL', async () => {
    const ofShard = contentIds.filter((id) => keys.shardOf(id) === 1)
    const slot = Number(await redis.cluster('KEYSLOT', keys.stream(1)))
    const from = await cluster.masterOf(slot)
    const masters = await Promise.all(Array.from({ length: SHARDS }, async (_, s) =>
      cluster.masterOf(Number(await redis.cluster('KEYSLOT', keys.stream(s))))))
    const to = masters.find((m) => m.port !== from.port)!
    const answers: Answer[] = []
    const traffic = { voting: true }
    // Half the votes on shard 1, so its keys are written while they move.
    const load = Promise.all(Array.from({ length: 20 }, async (_, worker) => {
      while (traffic.voting) {
        const [v] = some(1)
        answers.push(await castOne(base, tokens, worker % 2 === 0 ? { ...v!, content: ofShard[random(ofShard.length)]! } : v!))
      }
    }))
    await waitFor(() => answers.length > 300, { what: '300 votes before the move' })
    const { keys: movedKeys } = await cluster.moveSlot(slot, to)
    const movedAt = answers.length
    await waitFor(() => answers.length > movedAt + 300, { what: '300 votes after the move' })
    traffic.voting = false
    await load
    assert.equal((await cluster.masterOf(slot)).port, to.port)
    const notTaken = answers.filter((a) => a.status !== 202).map((a) => `${a.status} ${a.code}`)
    assert.deepEqual(notTaken, [], 'a vote during the move is taken, not refused')
    await waitForApplied(redis, keys)
    const stored = await storedVersions(db)
    const missing = [...newest202s(answers)].filter(([k, a]) => stored.get(k)?.version !== entryVersion(a.id!)).map(([k]) => k)
    assert.deepEqual(missing, [], 'every newest 202 is the stored vote')
    t.diagnostic(`slot ${slot} (shard 1) moved from ${from.port} to ${to.port} with ${movedKeys} keys ` +
      `while ${answers.length} votes were cast`)
  })

  await t.test('a master SIGKILLed while votes keep coming: its replica takes over, votes are taken again, ' +
    'and only a vote acknowledged in the loss window may be missing', async () => {
    const masterOfShard = await Promise.all(Array.from({ length: SHARDS }, async (_, shard) =>
      cluster.masterOf(Number(await redis.cluster('KEYSLOT', keys.stream(shard))))))
    // The first start-up node, when it is a master: the API's subscriber connects there first, so its
    // death also tests that the subscriber moves to another node and the cached pages are dropped.
    const master = masterOfShard.find((m) => m.port === cluster.startupNodes[0]!.port) ?? masterOfShard[0]!
    const shardsOfMaster = masterOfShard.flatMap((m, shard) => (m.port === master.port ? [shard] : []))

    const answers: Answer[] = []
    const traffic = { voting: true }
    const load = Promise.all(Array.from({ length: 20 }, async () => {
      while (traffic.voting) {
        const [v] = some(1)
        answers.push(await castOne(base, tokens, v!))
      }
    }))
    await waitFor(() => answers.length > 1000, { what: '1000 votes before the kill' })
    const killedAt = Date.now()
    const replica = await cluster.killMaster(master)
    await cluster.waitUntilHealthy({ promoted: replica })
    const promotedAt = Date.now()
    // Voting goes on until a vote of every shard of the dead master has been taken by its replica.
    const takenAgain = (s: number) => answers.some((a) => a.status === 202 && a.at > promotedAt && keys.shardOf(a.content) === s)
    await waitFor(() => shardsOfMaster.every(takenAgain), { timeoutMs: 20_000, what: 'the failed-over shards to take votes again' })
    traffic.voting = false
    await load

    await waitForApplied(redis, keys)
    const stored = await storedVersions(db)
    const missing = [...newest202s(answers)].filter(([k, a]) => (stored.get(k)?.version ?? -1n) < entryVersion(a.id!)!).map(([, a]) => a)
    for (const a of missing) {
      const shard = keys.shardOf(a.content)
      assert.ok(shardsOfMaster.includes(shard), `a vote on shard ${shard}, not the dead master's, is missing`)
      const inLossWindow = a.at >= killedAt - LOSS_WINDOW_MS && a.at <= promotedAt
      assert.ok(inLossWindow, `a vote acknowledged ${killedAt - a.at} ms before the kill is missing`)
    }
    const refused = answers.filter((a) => a.status !== 202)
    const refusedWith = [...new Set(refused.map((a) => a.status))].join(', ')
    assert.ok(refused.every((a) => a.status === 503), `during the failover votes got ${refusedWith}`)
    assert.equal(api.child.exitCode, null, 'the API is still running')
    assert.ok(consumers.every((c) => c.child.exitCode === null), 'both consumers are still running')
    const onDead = answers.filter((a) => shardsOfMaster.includes(keys.shardOf(a.content)))
    const firstRefused = refused.length ? Math.min(...refused.map((a) => a.at)) - killedAt : null
    const lastRefused = refused.length ? Math.max(...refused.map((a) => a.at)) - killedAt : null
    t.diagnostic(`killed master ${master.port} (shards ${shardsOfMaster.join(',')}); ` +
      `replica ${replica.port} promoted after ${promotedAt - killedAt} ms; ` +
      `${answers.length} votes, ${onDead.length} on its shards; ` +
      `${refused.length} refused with 503, from ${firstRefused} to ${lastRefused} ms after the kill; ` +
      `${missing.length} acknowledged votes lost`)
    const audit = await runAudit(t, env)
    assert.equal(audit.code, 0, audit.out)
    await waitFor(async () => (await metric('tally_read_changes_subscribed')) === 1, { what: 'the API to hear announcements again' })
    const counts = await db.execute<{ id: number; vote_count: number }>(sql`select id, vote_count from contents`)
    const shown = await listPage()
    assert.deepEqual(counts.filter((c) => shown.get(c.id)?.vote_count !== c.vote_count).map((c) => c.id), [], 'the list shows every count')
  })
})
