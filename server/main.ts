import closeWithGrace from 'close-with-grace'
import { loadConfigOrExit } from '../shared/config.js'
import { buildApp } from './app.js'
import { stopWhenSupervisorExits } from '../shared/supervised.js'

// The only place that listens: load config → build → listen; close on signal.
const config = loadConfigOrExit('tally-api')

const app = await buildApp(config)
for (const warning of config.warnings) app.log.warn(warning)

closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after a fatal error')
  else app.log.info({ signal }, 'closing: finishing in-flight requests')
  // New requests are refused, in-flight ones finish, then the onClose hooks end the pools.
  await app.close()
})

stopWhenSupervisorExits()
await app.listen({ host: config.HOST, port: config.PORT })
