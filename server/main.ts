import closeWithGrace from 'close-with-grace'
import { ConfigError, loadConfig, type Config } from '../shared/config.js'
import { buildApp } from './app.js'

// The only place that listens: load config → build → listen; close on signal.
let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  console.error(`tally-api: ${err.message}`)
  process.exit(78) // EX_CONFIG: npm start does not restart a process that cannot start
}

const app = await buildApp(config)
for (const warning of config.warnings) app.log.warn(warning)

closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after a fatal error')
  else app.log.info({ signal }, 'closing: finishing in-flight requests')
  // New requests are refused, in-flight ones finish, then the onClose hooks end the pools.
  await app.close()
})

await app.listen({ host: config.HOST, port: config.PORT })
