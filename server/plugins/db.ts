import fp from 'fastify-plugin'
import { createDb, type Db } from '../../shared/db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
  }
}

export default fp<{ url: string; poolSize: number }>(async (app, opts) => {
  const db = createDb(opts.url, { max: opts.poolSize, name: 'tally-api' })
  app.decorate('db', db)
  // The plugin that opens the pool ends it, after in-flight requests have finished.
  app.addHook('onClose', () => db.close())
}, { name: 'db' })
