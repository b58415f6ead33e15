/**
 * `npm run audit [-- --baseline] [-- --json]` (in the image: `node dist/cli/audit.js …`): check the invariants
 * (audit/audit.ts) and exit 1 when either fails. `--baseline` (every shard drained) first accepts the streams'
 * counts as they are (audit/ledger-check.ts setBaselines), after an upgrade from before the ledger or once a loss
 * has been looked into. `--json` prints the report as JSON.
 */
import { audit, formatReport } from '../audit/audit.js'
import { setBaselines } from '../audit/ledger-check.js'
import { loadConfig } from '../shared/config.js'
import { createDb } from '../shared/db/client.js'
import { closeRedis, createRedis } from '../shared/redis/client.js'
import { redisKeys } from '../shared/redis/keys.js'
import { redisTarget } from '../shared/redis/target.js'

const config = loadConfig()
const db = createDb(config.DATABASE_URL, { max: 1 })
const redis = createRedis(redisTarget(config), { commandTimeoutMs: 5000 })
try {
  const keys = redisKeys(config.REDIS_PREFIX, config.VOTE_STREAM_SHARDS)
  if (process.argv.includes('--baseline')) {
    const streams = Array.from({ length: keys.shards }, (_, shard) => keys.stream(shard))
    for (const line of await setBaselines(db, redis, streams, config.CONSUMER_GROUP)) console.log(line)
  }
  const report = await audit(db, redis, keys, config.CONSUMER_GROUP)
  console.log(process.argv.includes('--json') ? JSON.stringify(report) : formatReport(report))
  process.exitCode = report.ok ? 0 : 1
} finally {
  await closeRedis(redis)
  await db.close()
}
