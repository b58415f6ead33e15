import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

// OpenAPI built from the routes' TypeBox schemas: the docs cannot drift from what is validated.
export default fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      info: { title: 'tally', version: '0.1.0', description: 'Content rating API: register, log in, create content, vote 0..5.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // The default policy asks browsers to upgrade every asset to https: served over plain http on any
    // host but localhost (as compose publishes it), the page then loads nothing.
    transformStaticCSP: (header: string) => header.split(';').map((d) => d.trim()).filter((d) => d !== 'upgrade-insecure-requests').join('; '),
  })
}, { name: 'docs' })
