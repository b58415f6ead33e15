import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { ERROR_CODES } from '../errors.js'
import { COMPONENTS } from '../schemas.js'

// Every code, including those no route lists (not_found, and what Node refuses before routing), as the
// document's own table; each operation's error replies name the codes that route can send.
const ERROR_TABLE = ['| Code | Status | Meaning |', '|---|---|---|',
  ...Object.entries(ERROR_CODES).map(([code, { status, meaning }]) => `| \`${code}\` | ${status} | ${meaning} |`)].join('\n')

/**
 * OpenAPI built from the routes' TypeBox schemas: the docs cannot drift from what is validated. Also the
 * registry of the named reply schemas: added here, before any route, so the routes' $refs resolve for the
 * serializer and the document lists them under components.schemas by their $id.
 */
export default fp(async (app) => {
  for (const schema of COMPONENTS) app.addSchema(schema)
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'tally',
        version: '0.1.0',
        description: 'Content rating API: register, log in, create content, vote 0..5.\n\n' +
          `Every error has the ErrorReply shape; its \`code\` is one of:\n\n${ERROR_TABLE}`,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    // Components are named by their $id (ContentItem, …), not def-0, def-1.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // The default policy asks browsers to upgrade every asset to https: served over plain http on any
    // host but localhost (as compose publishes it), the page then loads nothing.
    transformStaticCSP: (header: string) =>
      header.split(';').map((d) => d.trim()).filter((d) => d !== 'upgrade-insecure-requests').join('; '),
  })
}, { name: 'docs' })
