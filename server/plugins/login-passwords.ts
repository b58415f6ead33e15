import fp from 'fastify-plugin'
import { createLoginPasswords, type LoginPasswords } from '../login-work.js'
import { readStoredKinds } from '../password-census.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Log-in's password check, the same work whoever the username names (server/login-work.ts). */
    loginPasswords: LoginPasswords
  }
}

// How often each API process re-reads which kinds of password hash are stored.
const CENSUS_REFRESH_MS = 60_000

export default fp(async (app) => {
  app.decorate('loginPasswords', createLoginPasswords({ readStoredKinds: () => readStoredKinds(app.db), refreshMs: CENSUS_REFRESH_MS }))
}, { name: 'login-passwords', dependencies: ['db'] })
