import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../shared/db/client.js'
import { batchPerTurn } from '../../shared/turn-batch.js'
import { arrayLiteral } from '../../shared/db/array-literal.js'
import { DEFAULT_ORDERING, ORDERINGS, type Ordering } from './orderings.js'

export type ContentRow = {
  id: number
  title: string
  description: string
  author_id: number | null
  /** ISO 8601 in UTC with milliseconds, the same shape as locked_until. */
  created_at: string
  vote_count: number
  average_vote: number | null
  /** The histogram: votes giving each score 0..5. */
  votes_0: number
  votes_1: number
  votes_2: number
  votes_3: number
  votes_4: number
  votes_5: number
  user_vote: number | null
  /** The row's rank key in a ranking's list (what its cursor holds); absent elsewhere. */
  sort_key?: number
}

/**
 * Where a page starts: an offset (page numbers), or strictly before/after a place (keyset): an id newest first,
 * (key, id) in a ranking.
 */
export type PageStart = { offset: number } | (({ beforeId: number } | { afterId: number }) & { key?: number })

// The columns every content read returns; average_vote is computed from the maintained sums, never from votes.
const itemColumns = sql`c.id, c.title, c.description, c.author_id,
  to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at, c.vote_count,
  case when c.vote_count > 0 then c.vote_sum::float8 / c.vote_count end as average_vote,
  c.votes_0, c.votes_1, c.votes_2, c.votes_3, c.votes_4, c.votes_5`

// The caller's own score comes from the same select (a primary-key probe per row), so a page is one query.
const userVote = (userId: number | null) => (userId === null
  ? { column: sql`null::smallint as user_vote`, join: sql`` }
  : { column: sql`v.score as user_vote`, join: sql`left join votes v on v.content_id = c.id and v.user_id = ${userId}` })

/**
 * Insert a content and run `beforeCommit` (it marks the id in Redis' content index) inside the same
 * transaction: if that fails, the insert is rolled back, so no content exists that votes would refuse.
 */
export async function insertContent(db: Db, input: { title: string; description: string; authorId: number | null },
  beforeCommit: (id: number) => Promise<void>): Promise<ContentRow> {
  return db.transaction(async (tx) => {
    const rows = await tx.execute<ContentRow>(sql`insert into contents as c (title, description, author_id)
      values (${input.title}, ${input.description}, ${input.authorId}) returning ${itemColumns}, null::smallint as user_vote`)
    const row = rows[0]
    if (!row) throw new Error('insert returned no row')
    await beforeCommit(row.id)
    return row
  })
}

/**
 * The reads of one content and of a caller's scores, as they run on every detail read and every list page
 * served from the cache: the requests of one event-loop turn share one query (shared/turn-batch.ts), its
 * SQL built once. The plans are nested loops over the given ids: a primary-key probe per content, and one
 * into votes_pkey (user_id, content_id) per caller's score.
 */
export function createContentReads(db: Db) {
  const items = db.compileQuery<ContentRow & { i: number }>(sql`select q.i::int as i, ${itemColumns}, v.score as user_vote
    from unnest(${sql.placeholder('ids')}::int[], ${sql.placeholder('users')}::int[]) with ordinality as q(id, user_id, i)
    join contents c on c.id = q.id
    left join votes v on v.content_id = q.id and v.user_id = q.user_id`)
  const scores = db.compileQuery<{ r: number; content_id: number; score: number }>(sql`select q.r, v.content_id, v.score
    from unnest(${sql.placeholder('requests')}::int[], ${sql.placeholder('users')}::int[], ${sql.placeholder('contents')}::int[])
      as q(r, user_id, content_id)
    join votes v on v.user_id = q.user_id and v.content_id = q.content_id`)

  const findContent = batchPerTurn(async (asked: { contentId: number; userId: number | null }[]) => {
    const rows = await items({ ids: arrayLiteral(asked.map((a) => a.contentId)), users: arrayLiteral(asked.map((a) => a.userId)) })
    const found = new Array<ContentRow | undefined>(asked.length)
    for (const { i, ...row } of rows) found[i - 1] = row
    return found
  })
  const userVotes = batchPerTurn(async (asked: { userId: number; contentIds: readonly number[] }[]) => {
    const requests: number[] = []; const users: number[] = []; const contents: number[] = []
    asked.forEach(({ userId, contentIds }, r) => {
      for (const id of contentIds) { requests.push(r); users.push(userId); contents.push(id) }
    })
    const answers = asked.map(() => new Map<number, number>())
    if (contents.length === 0) return answers
    for (const row of await scores({ requests: arrayLiteral(requests), users: arrayLiteral(users), contents: arrayLiteral(contents) })) {
      answers[row.r]!.set(row.content_id, row.score)
    }
    return answers
  })
  return {
    /**
     * The caller's rows on these contents with their versions, for settling votes this process knows are on their
     * way (caller-votes.ts): only readers with a vote pending ask, so it is a plain query, not batched.
     */
    async appliedVotes(userId: number, contentIds: readonly number[]): Promise<Map<number, { score: number | null; version: bigint }>> {
      const rows = await db.execute<{ content_id: number; score: number | null; version: string }>(sql`
        select content_id, score, version::text as version from votes
        where user_id = ${userId} and content_id = any(${sql.param(arrayLiteral(contentIds))}::int[])`)
      return new Map(rows.map((r) => [r.content_id, { score: r.score, version: BigInt(r.version) }]))
    },
    findContent: (contentId: number, userId: number | null): Promise<ContentRow | undefined> => findContent({ contentId, userId }),
    /** The caller's own scores on these contents (absent: not voted), for a page served from the cache. */
    userVotes: (userId: number, contentIds: readonly number[]): Promise<Map<number, number>> =>
      (contentIds.length === 0 ? Promise.resolve(new Map()) : userVotes({ userId, contentIds })),
  }
}

/**
 * The statement behind listContents: one page's rows (one extra, to tell whether more follow) beside the
 * content count, `total`. Keyset starts walk the primary key from the cursor, so page 20,000 costs what
 * page 1 does. Offsets first find the page's top id with an index-only scan that reads `offset` entries,
 * then join only that page's rows; an offset at or past the count skips that scan (its one-time filter
 * reads the counter row first), so a page past the end costs one counter read however deep it asks.
 * The counter row drives the statement, so it returns one row (page columns null) even for an empty page.
 */
export function pageQuery(start: PageStart, limit: number, userId: number | null, ordering: Ordering = DEFAULT_ORDERING): SQL {
  const uv = userVote(userId)
  const column = ORDERINGS[ordering].column
  if (column !== null) return rankedPageQuery(sql.raw(`c.${column}`), sql.raw(ORDERINGS[ordering].type), start, limit, uv)
  let where: SQL
  let order = sql`desc`
  if ('beforeId' in start) where = sql`c.id < ${start.beforeId}`
  else if ('afterId' in start) {
    where = sql`c.id > ${start.afterId}`
    order = sql`asc`
  } else if (start.offset === 0) where = sql`true`
  else where = sql`c.id <= (select id from contents where ${start.offset} < k.value order by id desc offset ${start.offset} limit 1)`
  return sql`select p.*, k.value as total
    from counters k left join lateral (
      select ${itemColumns}, ${uv.column} from contents c ${uv.join} where ${where} order by c.id ${order} limit ${limit + 1}
    ) p on true
    where k.name = 'contents' order by p.id ${order}`
}

/**
 * A ranking's page: one range scan of its index (key desc, id desc), from the cursor's (key, id) as a row
 * comparison the index answers, or an offset into it (page numbers stop at MAX_PAGE_ROWS). NULLS LAST is spelt
 * out so the order matches the index's: the keys are never null, but the planner does not know that.
 */
function rankedPageQuery(key: SQL, type: SQL, start: PageStart, limit: number, uv: ReturnType<typeof userVote>): SQL {
  let where = sql`true`
  let order = sql`desc nulls last`
  let skip = sql``
  if ('offset' in start) {
    if (start.offset > 0) skip = sql`offset ${start.offset}`
  } else if ('beforeId' in start) where = sql`(${key}, c.id) < (${start.key ?? 0}::${type}, ${start.beforeId})`
  else {
    where = sql`(${key}, c.id) > (${start.key ?? 0}::${type}, ${start.afterId})`
    order = sql`asc nulls first`
  }
  return sql`select p.*, k.value as total
    from counters k left join lateral (
      select ${itemColumns}, ${uv.column}, ${key}::float8 as sort_key from contents c ${uv.join}
      where ${where} order by ${key} ${order}, c.id ${order} ${skip} limit ${limit + 1}
    ) p on true
    where k.name = 'contents' order by p.sort_key ${order}, p.id ${order}`
}

/**
 * One page of contents, newest (highest id) first (pageQuery). `total` is the content count read by the
 * same statement, so it agrees with the rows (both from one snapshot, even while contents are being created).
 */
export async function listContents(db: Db, start: PageStart, limit: number, userId: number | null, ordering: Ordering = DEFAULT_ORDERING):
Promise<{ rows: ContentRow[]; hasMore: boolean; total: number }> {
  const found = await db.queryPrepared<Omit<ContentRow, 'id'> & { id: number | null; total: string }>(
    pageQuery(start, limit, userId, ordering))
  const total = found[0] === undefined ? 0 : Number(found[0].total)
  const page = found.filter((r): r is ContentRow & { total: string } => r.id !== null)
  const rows = page.slice(0, limit).map(({ total: _, ...row }) => row)
  // hasMore: rows beyond this page in the walking direction (older for offset/before, newer for after).
  return { rows: 'afterId' in start ? rows.reverse() : rows, hasMore: page.length > limit, total }
}

export type ContentReads = ReturnType<typeof createContentReads>
