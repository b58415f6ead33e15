import type { FastifyInstance } from 'fastify'
import { Value } from '@sinclair/typebox/value'
import type { TSchema } from '@sinclair/typebox'

/**
 * HTML forms and scripts written for the system we replace (e.g. Python's requests with data=)
 * send application/x-www-form-urlencoded. Every form value is text, so it is converted by the
 * route's own body schema ("4" → 4 where an integer is expected) and then validated like JSON.
 */
export function acceptFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) => {
    const fields = Object.fromEntries(new URLSearchParams(body as string))
    const schema = req.routeOptions.schema?.body as TSchema | undefined
    done(null, schema ? Value.Convert(schema, fields) : fields)
  })
}
