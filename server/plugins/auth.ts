import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import { createVerifier } from 'fast-jwt'
import { notAuthenticated, tokenInvalid } from '../errors.js'
import { createTokenCache } from '../token-cache.js'
import { MAX_ID } from '../../shared/ids.js'

export type TokenType = 'access' | 'refresh'
export interface TokenPair { access: string; refresh: string }

declare module 'fastify' {
  interface FastifyInstance {
    issueTokens(userId: number): TokenPair
    issueAccessToken(userId: number): string
    /** The user id a token of `type` names; throws 401 token_invalid otherwise. */
    verifyToken(token: string, type: TokenType): number
    /**
     * For a refresh token the Django service issued (JWT_LEGACY_SECRET): its jti, which may be traded once;
     * null for tally's own. Call after verifyToken accepted it.
     */
    legacyRefreshJti(token: string): string | null
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
  /** The Django service's SECRET_KEY: its simplejwt tokens (HS256, claim user_id) are accepted too. */
  legacySecret?: string
}

interface Claims { sub?: unknown; token_type?: unknown; exp?: unknown }
interface LegacyClaims { user_id?: unknown; token_type?: unknown; exp?: unknown; jti?: unknown }
type Verdict = { userId: number } | { error: Error } | typeof NO_TOKEN
const NO_TOKEN = Object.freeze({ none: true as const })
// Access tokens remembered after a full verification: a voter's next requests skip the HMAC.
const VERIFIED_TOKENS = 10_000

export default fp<AuthOptions>(async (app, opts) => {
  await app.register(fastifyJwt, {
    secret: opts.secret,
    sign: { algorithm: 'HS256' },
    // HS256 only: `alg: none` and every other algorithm fail verification. Verified access tokens are
    // remembered below, keyed by their text; fast-jwt's own cache would hash every token it looks up.
    verify: { algorithms: ['HS256'] },
  })
  const verified = createTokenCache(VERIFIED_TOKENS)
  // simplejwt's defaults: HS256 over SECRET_KEY, the user's id in user_id (a number, or its digits), exp required.
  const legacy = opts.legacySecret === undefined ? undefined
    : createVerifier({ key: opts.legacySecret, algorithms: ['HS256'], requiredClaims: ['exp', 'token_type', 'user_id'], cache: false })
  const legacyClaims = (token: string): LegacyClaims | undefined => {
    if (!legacy) return undefined
    try {
      return legacy(token) as LegacyClaims
    } catch {
      return undefined
    }
  }
  const userIdOf = (value: unknown): number => {
    const text = typeof value === 'number' ? String(value) : value
    const id = typeof text === 'string' && /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN
    if (!Number.isSafeInteger(id) || id > MAX_ID) throw tokenInvalid()
    return id
  }

  const sign = (userId: number, type: TokenType, ttl: number) =>
    app.jwt.sign({ sub: String(userId), token_type: type, jti: randomUUID() }, { expiresIn: ttl })

  app.decorate('issueAccessToken', (userId: number) => sign(userId, 'access', opts.accessTtlSeconds))
  app.decorate('issueTokens', (userId: number) => ({
    access: sign(userId, 'access', opts.accessTtlSeconds),
    refresh: sign(userId, 'refresh', opts.refreshTtlSeconds),
  }))
  app.decorate('verifyToken', (token: string, type: TokenType) => {
    if (type === 'access') {
      const cached = verified.get(token, Date.now())
      if (cached !== undefined) return cached
    }
    let claims: Claims
    let id: number
    try {
      claims = app.jwt.verify<Claims>(token)
    } catch {
      // Not one of ours: perhaps one the Django service issued before the switch.
      const old = legacyClaims(token)
      if (!old) throw tokenInvalid()
      if (old.token_type !== type) throw tokenInvalid(`token is not ${type === 'access' ? 'an access' : 'a refresh'} token`)
      // A refresh token is traded once, by its jti: without one it could be traded for ever.
      if (type === 'refresh' && (typeof old.jti !== 'string' || old.jti.length === 0)) throw tokenInvalid()
      id = userIdOf(old.user_id)
      if (type === 'access' && typeof old.exp === 'number') verified.set(token, id, old.exp * 1000)
      return id
    }
    // A refresh token is never an access token, nor the other way round.
    if (claims.token_type !== type) throw tokenInvalid(`token is not ${type === 'access' ? 'an access' : 'a refresh'} token`)
    id = userIdOf(claims.sub)
    // Only access tokens: a refresh token is presented once in a while, and must never hit as an access token.
    if (type === 'access' && typeof claims.exp === 'number') verified.set(token, id, claims.exp * 1000)
    return id
  })

  app.decorate('legacyRefreshJti', (token: string) => {
    try {
      app.jwt.verify(token)
      return null
    } catch {
      const old = legacyClaims(token)
      return typeof old?.jti === 'string' && old.jti.length > 0 ? old.jti : null
    }
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
          result = { userId: app.verifyToken(match[1], 'access') }
        } catch (err) {
          result = { error: err as Error }
        }
      }
    }
    req.authVerdict = result
    return result
  }

  app.decorateRequest('requireUser', function (this: FastifyRequest) {
    const v = verdict(this)
    if ('none' in v) throw notAuthenticated()
    if ('error' in v) throw v.error
    return v.userId
  })
  app.decorateRequest('optionalUser', function (this: FastifyRequest) {
    const v = verdict(this)
    return 'userId' in v ? v.userId : null
  })
}, { name: 'auth' })
