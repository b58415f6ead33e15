/**
 * `npm run db:migrate` (in the image: `node dist/cli/migrate.js`): create the database of DATABASE_URL when it
 * is missing and apply the committed migrations (shared/db/migrate.ts). The API and the consumers never migrate:
 * npm start's launcher does it before starting them, and deployments run this as a step of its own (compose.yaml's
 * `migrate` service, which they wait for).
 */
import { loadConfig } from '../shared/config.js'
import { migrateDatabase } from '../shared/db/migrate.js'

const config = loadConfig()
const { created } = await migrateDatabase(config.DATABASE_URL)
console.log(created ? 'database created and migrated' : 'database migrated')
