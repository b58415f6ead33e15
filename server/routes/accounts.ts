import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { and, eq } from 'drizzle-orm'
import { legacyRefreshTokens, users } from '../../shared/db/schema.js'
import { pgErrorCode, UNIQUE_VIOLATION } from '../../shared/db/errors.js'
import { invalidCredentials, tokenInvalid, usernameTaken } from '../errors.js'
import { hashPassword, needsRehash } from '../passwords.js'
import { usernameKey } from '../../shared/usernames.js'
import { AccessToken, Account, StoredText, TokenPair, WellFormedText, errors, ref } from '../schemas.js'
import { BODY_MEDIA_TYPES } from '../form-body.js'

// Django's rule for usernames (letters, digits and @ . + - _), Unicode included; \p{Pc} admits the
// underscore's compatibility forms (fullwidth ＿), which NFKC folds to _ for uniqueness.
const Username = Type.String({ minLength: 1, maxLength: 150, pattern: '^[\\p{L}\\p{M}\\p{N}\\p{Pc}.@+-]+$' })
const Password = WellFormedText({ minLength: 8, maxLength: 1024 })

const RegisterBody = Type.Object({
  username: Username,
  password: Password,
  email: Type.Optional(Type.Union([Type.Literal(''), Type.String({ format: 'email', maxLength: 254 })])),
  first_name: Type.Optional(StoredText({ maxLength: 150 })),
  last_name: Type.Optional(StoredText({ maxLength: 150 })),
}, { additionalProperties: false })

// Login takes any non-empty strings: a rule tightened later must not lock out existing accounts.
const LoginBody = Type.Object({
  // Looked up in PostgreSQL, so no U+0000 (a 400 rather than a failed query).
  username: StoredText({ minLength: 1, maxLength: 150 }),
  password: WellFormedText({ minLength: 1, maxLength: 1024 }),
}, { additionalProperties: false })

const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const authLimit = { rateLimit: app.authRateLimit }

  app.post('/register/', {
    config: authLimit,
    schema: {
      tags: ['accounts'],
      operationId: 'registerAccount',
      summary: 'Create an account',
      description: 'Usernames are unique after NFKC normalisation and case folding, and stored as typed. ' +
        'The password is stored as an Argon2id hash and never returned. ' +
        'Limited per client network (an IPv4 address or an IPv6 /64; RATE_LIMIT_AUTH_PER_MINUTE), counted apart from log-ins.',
      consumes: BODY_MEDIA_TYPES,
      body: RegisterBody,
      response: {
        201: ref(Account, 'the account, created'),
        ...errors('invalid_request', 'malformed_json', 'username_taken', 'body_too_large', 'unsupported_media_type',
          'rate_limited', 'internal_error', 'service_unavailable'),
      },
    },
  }, async (req, reply) => {
    const { username, password, email = '', first_name: firstName = '', last_name: lastName = '' } = req.body
    const passwordHash = await hashPassword(password)
    try {
      const [row] = await app.db.insert(users)
        .values({ username, usernameKey: usernameKey(username), passwordHash, email, firstName, lastName })
        .returning({ id: users.id, username: users.username })
      return reply.code(201).send(row!)
    } catch (err) {
      // The unique index decides, so two racing registrations cannot both win.
      if (pgErrorCode(err) === UNIQUE_VIOLATION) throw usernameTaken()
      throw err
    }
  })

  app.post('/auth/', {
    config: authLimit,
    schema: {
      tags: ['accounts'],
      operationId: 'logIn',
      summary: 'Log in: trade a username and password for an access and a refresh token',
      description: 'An unknown username, an inactive account and a wrong password get the same answer, after the same work ' +
        'whatever kind of password hash the username holds (docs/api.md says what remains distinguishable). ' +
        'Limited per client network (RATE_LIMIT_AUTH_PER_MINUTE), counted apart from registrations, and failed log-ins per account ' +
        '(LOGIN_FAILURES_PER_ACCOUNT per 10 minutes; networks the account logged in from keep trying): 429 rate_limited with Retry-After.',
      consumes: BODY_MEDIA_TYPES,
      body: LoginBody,
      response: {
        200: ref(TokenPair, 'an access token (JWT_ACCESS_TTL seconds) and a refresh token (JWT_REFRESH_TTL seconds)'),
        ...errors('invalid_request', 'malformed_json', 'invalid_credentials', 'body_too_large', 'unsupported_media_type',
          'rate_limited', 'internal_error', 'service_unavailable'),
      },
    },
  }, async (req) => {
    const [user] = await app.db.select({ id: users.id, passwordHash: users.passwordHash, isActive: users.isActive })
      .from(users).where(eq(users.usernameKey, usernameKey(req.body.username))).limit(1)
    // Unknown users, inactive ones and every kind of stored hash: the same work, the same answer (server/login-work.ts).
    const ok = await app.loginPasswords.check(user?.passwordHash, req.body.password)
    if (!user || !ok || !user.isActive) throw invalidCredentials()
    if (needsRehash(user.passwordHash)) {
      // A hash the Django service wrote, kept by the import: replaced by argon2id now that the password is known.
      // Only if it is still the one verified: a concurrent login or password change wins.
      const upgraded = await hashPassword(req.body.password)
      await app.db.update(users).set({ passwordHash: upgraded })
        .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)))
    }
    return app.issueTokens(user.id)
  })

  // Not under the password-guessing limit: a refresh token cannot be guessed, and clients behind one IP refresh often.
  app.post('/auth/refresh/', {
    schema: {
      tags: ['accounts'],
      operationId: 'refreshAccessToken',
      summary: 'Trade a refresh token for a new access token',
      description: 'The refresh token itself is not replaced. ' +
        'An access token is refused here, as a refresh token is refused elsewhere, ' +
        'and so is the refresh token of an account that is no longer active. ' +
        'With JWT_LEGACY_SECRET set, a refresh token of the Django service, for an account the import brought over ' +
        'and issued before the cut-over, is traded once for an access and a refresh token of tally.',
      consumes: BODY_MEDIA_TYPES,
      body: Type.Object({ refresh: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
      response: {
        200: ref(AccessToken, 'a new access token'),
        ...errors('invalid_request', 'malformed_json', 'token_invalid', 'body_too_large', 'unsupported_media_type', 'rate_limited',
          'internal_error', 'service_unavailable'),
      },
    },
  }, async (req) => {
    // The account exists and is active (one primary-key read): a deactivated user gets no new access token.
    const { userId, legacyJti } = await app.verifyRefreshToken(req.body.refresh)
    if (legacyJti === null) return { access: app.issueAccessToken(userId) }
    // A refresh token of the Django service: traded once for a pair of tally's, then refused.
    const traded = await app.db.insert(legacyRefreshTokens).values({ jti: legacyJti, userId }).onConflictDoNothing()
      .returning({ jti: legacyRefreshTokens.jti })
    if (traded.length === 0) throw tokenInvalid('this refresh token of the previous service was already traded')
    return app.issueTokens(userId)
  })
}

export default accountRoutes
