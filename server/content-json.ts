import type { ContentRow } from './queries/contents.js'

/*
 * List pages are sent as JSON rendered here once and kept as text, not serialized per request: the
 * fields and their order are those of ContentItemSchema and ContentPageSchema (server/schemas.ts),
 * which still document the route; content-json.test.ts holds the two to each other.
 */

/** An item's JSON in two parts, around the value of user_vote, which differs per caller. */
export function renderItemParts(row: ContentRow, lockedUntilMs: number | null): [string, string] {
  const before = `{"id":${row.id},"title":${JSON.stringify(row.title)},"description":${JSON.stringify(row.description)},` +
    `"author_id":${row.author_id ?? 'null'},"created_at":${JSON.stringify(row.created_at)},"vote_count":${row.vote_count},` +
    `"average_vote":${row.average_vote ?? 'null'},"user_vote":`
  const after = `,"locked_until":${lockedUntilMs === null ? 'null' : `"${new Date(lockedUntilMs).toISOString()}"`}}`
  return [before, after]
}

/** The page around its items: `head` ends where the first item starts, `tail` closes the page. */
export function renderEnvelope(page: { count: number; next: string | null; previous: string | null; next_cursor: string | null }) {
  const json = (s: string | null) => (s === null ? 'null' : JSON.stringify(s))
  return {
    head: `{"count":${page.count},"next":${json(page.next)},"previous":${json(page.previous)},"next_cursor":${json(page.next_cursor)},"results":[`,
    tail: ']}',
  }
}
