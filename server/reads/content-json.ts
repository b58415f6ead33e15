import { Type } from '@fastify/type-provider-typebox'
import { ContentPageSchema, ref, type ContentItem, type ContentPage } from '../schemas.js'
import type { ContentRow } from './content-queries.js'
import { bayesianAverage, ratingLowerBound, voteSum, type Histogram, type RankingPrior } from '../../shared/ranking.js'

/*
 * List pages are sent as JSON rendered here once and kept as text, not serialized per request: the
 * fields and their order are those of ContentItemSchema and ContentPageSchema (server/schemas.ts),
 * which still document the route; content-json.test.ts holds the two to each other. A single item
 * (detail, creation) goes out as an object, serialized by its route's schema.
 */

const histogramOf = (row: ContentRow): Histogram => [row.votes_0, row.votes_1, row.votes_2, row.votes_3, row.votes_4, row.votes_5]

/** The content's two ranking scores, from its histogram and the prior in force (shared/ranking.ts). */
function scores(row: ContentRow, prior: RankingPrior) {
  const histogram = histogramOf(row)
  return {
    histogram,
    bayesian: bayesianAverage(voteSum(histogram), row.vote_count, prior),
    lowerBound: ratingLowerBound(histogram, prior.z),
  }
}

/** The caller's own part of an item: their score, and whether it is still on its way (pending). */
export interface CallerVote { score: number | null; pending: boolean }

/** One content as its route's schema serializes it. */
export function contentItem(row: ContentRow, lockedUntilMs: number | null, prior: RankingPrior,
  caller: CallerVote = { score: row.user_vote, pending: false }): ContentItem {
  const { histogram, bayesian, lowerBound } = scores(row, prior)
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    author_id: row.author_id,
    created_at: row.created_at,
    vote_count: row.vote_count,
    average_vote: row.average_vote,
    histogram: [...histogram],
    bayesian_average: bayesian,
    rating_lower_bound: lowerBound,
    user_vote: caller.score,
    user_vote_pending: caller.pending,
    locked_until: lockedUntilMs === null ? null : new Date(lockedUntilMs).toISOString(),
  }
}

/** The JSON of user_vote's value and user_vote_pending, which differ per caller (renderItemParts goes around it). */
export const callerJson = (score: number | null, pending: boolean): string =>
  `${score ?? 'null'},"user_vote_pending":${pending}`

/** An item's JSON in two parts, around callerJson, which differs per caller. */
export function renderItemParts(row: ContentRow, lockedUntilMs: number | null, prior: RankingPrior): [string, string] {
  const { histogram, bayesian, lowerBound } = scores(row, prior)
  const before = `{"id":${row.id},"title":${JSON.stringify(row.title)},"description":${JSON.stringify(row.description)},` +
    `"author_id":${row.author_id ?? 'null'},"created_at":${JSON.stringify(row.created_at)},"vote_count":${row.vote_count},` +
    `"average_vote":${row.average_vote ?? 'null'},"histogram":[${histogram.join(',')}],"bayesian_average":${bayesian},` +
    `"rating_lower_bound":${lowerBound},"user_vote":`
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
