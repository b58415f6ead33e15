import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import { eq } from 'drizzle-orm'
import { users } from '../../shared/db/schema.js'
import { AppError, notAuthenticated, tokenInvalid } from '../errors.js'
import { createTokenCache } from '../token-cache.js'
import { userIdOf } from '../token-claims.js'
import { createLegacyTokens, type LegacyClaims } from '../legacy-tokens.js'

export type TokenType = 'access' | 'refresh'
export interface TokenPair { access: string; refresh: string }

declare module 'fastify' {
  interface FastifyInstance {
    issueTokens(userId: number): TokenPair
    issueAccessToken(userId: number): string
    /**
     * The user a refresh token names, once that account is found active (one primary-key read); for a refresh token
     * of the Django service (JWT_LEGACY_SECRET), also its jti, to be traded once. Throws 401 token_invalid otherwise.
     */
    verifyRefreshToken(token: string): Promise<{ userId: number; legacyJti: string | null }>
  }
  interface FastifyRequest {
    authVerdict: unknown
    /** The caller's user id from a valid access token; throws 401 when there is none. */
    requireUser(): number
    /** The caller's user id, or null: public reads ignore a missing, bad or expired token. */
    optionalUser(): number | null
  }
}

export interface AuthOptions {
  secret: string
  accessTtlSeconds: number
  refreshTtlSeconds: number
  /** The Django service's SECRET_KEY: its simplejwt tokens are honoured as server/legacy-tokens.ts says. */
  legacySecret?: string
  /** The Django service's refresh token lifetime: no legacy token is honoured for longer after the cut-over. */
  legacyLifetimeSeconds: number
}

interface Claims { sub?: unknown; token_type?: unknown; exp?: unknown }
/** A legacy access token whose account is still to be looked up (by the onRequest hook below). */
interface Pending { token: string; claims: LegacyClaims }
type Verdict = { userId: number } | { error: Error } | { pending: Pending } | typeof NO_TOKEN
const NO_TOKEN = Object.freeze({ none: true as const })
// Access tokens remembered after a full verification: a voter's next requests skip the HMAC.
const VERIFIED_TOKENS = 10_000
// Legacy access tokens refused after their look-up, remembered a while so a client repeating one costs no query.
const REFUSED_LEGACY_TOKENS = 1_000
const REFUSAL_MEMORY_MS = 60_000

const wrongType = (type: TokenType) => tokenInvalid(`token is not ${type === 'access' ? 'an access' : 'a refresh'} token`)

export default fp<AuthOptions>(async (app, opts) => {
  await app.register(fastifyJwt, {
    secret: opts.secret,
    sign: { algorithm: 'HS256' },
    // HS256 only: `alg: none` and every other algorithm fail verification. Verified access tokens are
    // remembered below, keyed by their text; fast-jwt's own cache would hash every token it looks up.
    verify: { algorithms: ['HS256'] },
  })
  // An entry lives until the token's exp and no longer: a deactivated user's access token stops with its lifetime.
  const verified = createTokenCache(VERIFIED_TOKENS)
  const refusedLegacy = createTokenCache(REFUSED_LEGACY_TOKENS)
  const legacy = opts.legacySecret === undefined
    ? undefined
    : createLegacyTokens(app.db, { secret: opts.legacySecret, lifetimeSeconds: opts.legacyLifetimeSeconds })

  const sign = (userId: number, type: TokenType, ttl: number) =>
    app.jwt.sign({ sub: String(userId), token_type: type, jti: randomUUID() }, { expiresIn: ttl })
  const ours = (token: string): Claims | undefined => {
    try {
      return app.jwt.verify<Claims>(token)
    } catch {
      return undefined
    }
  }

  app.decorate('issueAccessToken', (userId: number) => sign(userId, 'access', opts.accessTtlSeconds))
  app.decorate('issueTokens', (userId: number) => ({
    access: sign(userId, 'access', opts.accessTtlSeconds),
    refresh: sign(userId, 'refresh', opts.refreshTtlSeconds),
  }))

  /** An access token's verdict, synchronously: tally's tokens and cached ones in full, a legacy one as pending. */
  function accessVerdict(token: string): Verdict {
    const nowMs = Date.now()
    const cached = verified.get(token, nowMs)
    if (cached !== undefined) return { userId: cached }
    const claims = ours(token)
    if (claims) {
      // A refresh token is never an access token, nor the other way round.
      if (claims.token_type !== 'access') return { error: wrongType('access') }
      const userId = userIdOf(claims.sub)
      if (typeof claims.exp === 'number') verified.set(token, userId, claims.exp * 1000)
      return { userId }
    }
    // Not one of ours: perhaps one the Django service issued before the switch.
    const old = legacy?.claims(token)
    if (!old) return { error: tokenInvalid() }
    if (old.token_type !== 'access') return { error: wrongType('access') }
    if (refusedLegacy.get(token, nowMs) !== undefined) return { error: tokenInvalid() }
    return { pending: { token, claims: old } }
  }

  app.decorate('verifyRefreshToken', async (token: string) => {
    const claims = ours(token)
    if (claims) {
      if (claims.token_type !== 'refresh') throw wrongType('refresh')
      const userId = userIdOf(claims.sub)
      // Refresh is where tokens are issued: a user deactivated (or gone) since login gets no new access token.
      const [user] = await app.db.select({ isActive: users.isActive }).from(users).where(eq(users.id, userId))
      if (!user?.isActive) throw tokenInvalid()
      return { userId, legacyJti: null }
    }
    const old = legacy?.claims(token)
    if (!old) throw tokenInvalid()
    return { userId: await legacy!.userFor(old, 'refresh'), legacyJti: old.jti as string }
  })

  // The verdict is computed once per request: the rate limiter's key and the route share it.
  // Decorated up front (null = not computed yet) so every request object keeps one shape.
  app.decorateRequest('authVerdict', null)
  function verdict(req: FastifyRequest): Verdict {
    if (req.authVerdict !== null) return req.authVerdict as Verdict
    const header = req.headers.authorization
    let result: Verdict = NO_TOKEN
    if (header !== undefined) {
      const match = /^Bearer +(\S+) *$/i.exec(header)
      if (!match?.[1]) result = { error: tokenInvalid('authorization header must be "Bearer <access token>"') }
      else {
        try {
          result = accessVerdict(match[1])
        } catch (err) {
          result = { error: err as Error }
        }
      }
    }
    req.authVerdict = result
    return result
  }

  if (legacy) {
    // A legacy access token needs its account looked up in PostgreSQL the first time it is seen; after that it is a
    // cache hit like any other. Only with JWT_LEGACY_SECRET set, and callback-style: a request bearing one of tally's
    // tokens (or none) gets its verdict computed here instead of at the route, the same work once, and no promise.
    app.addHook('onRequest', (req, _reply, done) => {
      if (req.headers.authorization === undefined) return done()
      const v = verdict(req)
      if (!('pending' in v)) return done()
      const { token, claims } = v.pending
      legacy.userFor(claims, 'access').then((userId) => {
        // Remembered for JWT_ACCESS_TTL at most, then looked up again: an old token may claim a long life (up to
        // JWT_LEGACY_REFRESH_TTL), and a deactivation must not take longer to reach it than it takes for tally's.
        verified.set(token, userId, Math.min((claims.exp as number) * 1000, Date.now() + opts.accessTtlSeconds * 1000))
        req.authVerdict = { userId }
        done()
      }, (err: unknown) => {
        if (!(err instanceof AppError)) return done(err as Error) // PostgreSQL down: 503 from the error handler
        refusedLegacy.set(token, 0, Math.min((claims.exp as number) * 1000, Date.now() + REFUSAL_MEMORY_MS))
        req.authVerdict = { error: err }
        done()
      })
    })
  }

  app.decorateRequest('requireUser', function (this: FastifyRequest) {
    const v = verdict(this)
    if ('none' in v) throw notAuthenticated()
    if ('error' in v) throw v.error
    // A legacy token is only ever pending here if the hook above did not run: refused, never trusted.
    if ('pending' in v) throw tokenInvalid()
    return v.userId
  })
  app.decorateRequest('optionalUser', function (this: FastifyRequest) {
    const v = verdict(this)
    return 'userId' in v ? v.userId : null
  })
}, { name: 'auth', dependencies: ['db'] })
