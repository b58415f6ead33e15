import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { eq } from 'drizzle-orm'
import { users } from '../../shared/db/schema.js'
import { pgErrorCode, UNIQUE_VIOLATION } from '../../shared/db/errors.js'
import { invalidCredentials, usernameTaken } from '../errors.js'
import { dummyHash, hashPassword, verifyPassword } from '../passwords.js'
import { usernameKey } from '../usernames.js'
import { StoredText, WellFormedText, errors } from '../schemas.js'

// Django's rule for usernames (letters, digits and @ . + - _), Unicode included; \p{Pc} admits the
// underscore's compatibility forms (fullwidth ＿), which NFKC folds to _ for uniqueness.
const Username = Type.String({ minLength: 1, maxLength: 150, pattern: '^[\\p{L}\\p{M}\\p{N}\\p{Pc}.@+-]+$' })
const Password = WellFormedText({ minLength: 8, maxLength: 1024 })
const TokenPair = Type.Object({ access: Type.String(), refresh: Type.String() })

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
      summary: 'Create an account',
      body: RegisterBody,
      response: { 201: Type.Object({ id: Type.Integer(), username: Type.String() }), ...errors(400, 409, 413, 415, 429, 503) },
    },
  }, async (req, reply) => {
    const { username, password, email = '', first_name = '', last_name = '' } = req.body
    const passwordHash = await hashPassword(password)
    try {
      const [row] = await app.db.insert(users)
        .values({ username, usernameKey: usernameKey(username), passwordHash, email, firstName: first_name, lastName: last_name })
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
      summary: 'Log in: trade a username and password for an access and a refresh token',
      body: LoginBody,
      response: { 200: TokenPair, ...errors(400, 401, 413, 415, 429, 503) },
    },
  }, async (req) => {
    const [user] = await app.db.select({ id: users.id, passwordHash: users.passwordHash })
      .from(users).where(eq(users.usernameKey, usernameKey(req.body.username))).limit(1)
    // Unknown users verify against a dummy hash: the same work, the same answer, the same time.
    const ok = await verifyPassword(user?.passwordHash ?? await dummyHash(), req.body.password)
    if (!user || !ok) throw invalidCredentials()
    return app.issueTokens(user.id)
  })

  // Not under the password-guessing limit: a refresh token cannot be guessed, and clients behind one IP refresh often.
  app.post('/auth/refresh/', {
    schema: {
      tags: ['accounts'],
      summary: 'Trade a refresh token for a new access token',
      body: Type.Object({ refresh: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ access: Type.String() }), ...errors(400, 401, 413, 415, 429) },
    },
  }, async (req) => ({ access: app.issueAccessToken(app.verifyToken(req.body.refresh, 'refresh')) }))
}

export default accountRoutes
