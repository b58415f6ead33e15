import { Type } from '@fastify/type-provider-typebox'
import { ContentPageSchema, ref, type ContentItem, type ContentPage } from '../schemas.js'
import type { ContentRow } from './content-queries.js'

/*
 * List pages are sent as JSON rendered here once and kept as text, not serialized per request: the
 * fields and their order are those of ContentItemSchema and ContentPageSchema (server/schemas.ts),
 * which still document the route; content-json.test.ts holds the two to each other. A single item
 * (detail, creation) goes out as an object, serialized by its route's schema.
 */

/** One content as its route's schema serializes it. */
export function contentItem(row: ContentRow, lockedUntilMs: number | null): ContentItem {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    author_id: row.author_id,
    created_at: row.created_at,
    vote_count: row.vote_count,
    average_vote: row.average_vote,
    user_vote: row.user_vote,
    locked_until: lockedUntilMs === null ? null : new Date(lockedUntilMs).toISOString(),
  }
}

/** An item's JSON in two parts, around the value of user_vote, which differs per caller. */
export function renderItemParts(row: ContentRow, lockedUntilMs: number | null): [string, string] {
  const before = `{"id":${row.id},"title":${JSON.stringify(row.title)},"description":${JSON.stringify(row.description)},` +
    `"author_id":${row.author_id ?? 'null'},"created_at":${JSON.stringify(row.created_at)},"vote_count":${row.vote_count},` +
    `"average_vote":${row.average_vote ?? 'null'},"user_vote":`
  const after = `,"locked_until":${lockedUntilMs === null ? 'null' : `"${new Date(lockedUntilMs).toISOString()}"`}}`
  return [before, after]
}

/** What a list body is made of around its items: `head` ends with `"results":[`, `tail` closes it. */
export interface Envelope { head: string; tail: string }

/** The page around its items: `head` ends where the first item starts, `tail` closes the page. */
export function renderEnvelope(page: Omit<ContentPage, 'results'>): Envelope {
  const json = (s: string | null) => (s === null ? 'null' : JSON.stringify(s))
  return {
    head: `{"count":${page.count},"next":${json(page.next)},"previous":${json(page.previous)},` +
      `"next_cursor":${json(page.next_cursor)},"results":[`,
    tail: ']}',
  }
}

declare const rendersPage: unique symbol
/**
 * A ContentPage's JSON as rendered here, text or UTF-8 bytes. Only renderPage makes one, and Fastify
 * sends a string or a Buffer as it is (no second serialization), so a route declares its 200 reply
 * with renderedPageReply and sends this unchanged.
 */
export type RenderedPage = (string | Buffer) & { readonly [rendersPage]: ContentPage }

/** A page's JSON from its envelope and its items' JSON; as bytes when it is kept and sent many times. */
export function renderPage({ head, tail }: Envelope, items: string, asBytes: boolean): RenderedPage {
  const json = `${head}${items}${tail}`
  return (asBytes ? Buffer.from(json) : json) as RenderedPage
}

/** A 200 reply documented as ContentPage (the same $ref as before) whose handler sends a RenderedPage. */
export const renderedPageReply = (description: string) => Type.Unsafe<RenderedPage>(ref(ContentPageSchema, description))
