/**
 * `npm run import:django -- --from postgres://…/olddb [--on-collision=suffix|skip] [--on-bad-hash=unusable] [--dry-run]`
 * (in the image: `node dist/cli/import-django.js …`): the Django service's users, contents and votes into the
 * database of DATABASE_URL, migrated first (django-import/import.ts), then Redis' content index rebuilt and
 * every cached page dropped. Exit 2 on a usage error, 1 when the import refuses (it says why; nothing written).
 */
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '../shared/config.js'
import { createDb } from '../shared/db/client.js'
import { migrateDatabase } from '../shared/db/migrate.js'
import { rebuildContentIndex } from '../shared/content-index.js'
import { announceAllChanged } from '../shared/read-changes.js'
import { closeRedis, createRedis } from '../shared/redis/client.js'
import { redisKeys } from '../shared/redis/keys.js'
import { redisTarget } from '../shared/redis/target.js'
import { formatImportReport, importDjango, ImportRefused, type BadHashPolicy, type CollisionPolicy } from '../django-import/import.js'

const { values } = parseArgs({ options: {
  from: { type: 'string' },
  'on-collision': { type: 'string', default: 'refuse' },
  'on-bad-hash': { type: 'string', default: 'refuse' },
  'dry-run': { type: 'boolean', default: false },
} })
const onCollision = values['on-collision'] as CollisionPolicy
const onBadHash = values['on-bad-hash'] as BadHashPolicy
if (!values.from || !['refuse', 'suffix', 'skip'].includes(onCollision) || !['refuse', 'unusable'].includes(onBadHash)) {
  console.error('usage: npm run import:django -- --from postgres://…/olddb ' +
    '[--on-collision=suffix|skip] [--on-bad-hash=unusable] [--dry-run]')
  process.exit(2)
}
const config = loadConfigOrExit('import:django')
const dryRun = values['dry-run']!
try {
  if (!dryRun) await migrateDatabase(config.DATABASE_URL)
  const report = await importDjango({
    from: values.from, to: config.DATABASE_URL, onCollision, onBadHash, dryRun, log: (l) => console.error(l),
  })
  console.log(formatImportReport(report, dryRun, onBadHash))
  if (!dryRun) {
    // Votes for the imported contents must not be refused as unknown, and cached pages must go.
    const db = createDb(config.DATABASE_URL, { max: 1 })
    const redis = createRedis(redisTarget(config), { commandTimeoutMs: 10_000 })
    try {
      const keys = redisKeys(config.REDIS_PREFIX, config.VOTE_STREAM_SHARDS)
      const indexed = await rebuildContentIndex(db, redis, keys)
      await announceAllChanged(redis, keys.readChanges)
      console.log(`redis: content index rebuilt (${indexed} contents)`)
    } finally {
      await closeRedis(redis)
      await db.close()
    }
  }
} catch (err) {
  if (!(err instanceof ImportRefused)) throw err
  for (const line of err.lines) console.error(line)
  console.error(`import:django: ${err.message}`)
  process.exitCode = 1
}
