import type { FastifyInstance } from 'fastify'
import { DECIMAL, integerProperties } from './validation.js'

export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded'
/** The media types every route with a body accepts: the OpenAPI document lists both (`consumes`). */
export const BODY_MEDIA_TYPES = ['application/json', FORM_MEDIA_TYPE] as const

/**
 * HTML forms and scripts written for the system we replace (e.g. Python's requests with data=)
 * send application/x-www-form-urlencoded. Every form value is text: a field the route's body schema
 * declares an integer becomes a number when it is written in plain decimal digits ("4" → 4), and stays
 * text otherwise, so validation refuses "4.9", "1e3", "0x3" or "true" with 400 exactly as it would in
 * JSON, instead of a conversion quietly recording another score.
 */
export function acceptFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser(FORM_MEDIA_TYPE, { parseAs: 'string' }, (req, body, done) => {
    const fields: Record<string, unknown> = Object.fromEntries(new URLSearchParams(body as string))
    const schema = req.routeOptions.schema?.body as { properties?: Record<string, { type?: unknown }> } | undefined
    for (const name of schema ? integerProperties(schema) : []) {
      const text = fields[name]
      if (typeof text === 'string' && DECIMAL.test(text)) fields[name] = Number(text)
    }
    done(null, fields)
  })
}
