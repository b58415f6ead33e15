import { createVerifier } from 'fast-jwt'
import { sql } from 'drizzle-orm'
import type { Db } from '../shared/db/client.js'
import { tokenInvalid } from './errors.js'
import { userIdOf } from './token-claims.js'

/*
 * Tokens the Django service issued (djangorestframework-simplejwt: HS256 over its SECRET_KEY; claims token_type,
 * user_id, exp, jti and, since simplejwt 5, iat), honoured across the switch (JWT_LEGACY_SECRET) only where they
 * cannot name the wrong person or outlive the move:
 * - the account came from the import (a legacy_accounts row): the id of a user the import skipped, or of an
 *   account born in tally, is nobody the old service vouched for;
 * - the account is active now;
 * - the token was issued (iat) before the cut-over, the moment the newest import read the old database: the old
 *   service's later tokens are for accounts whose state tally no longer follows. A token without iat cannot
 *   show when it was issued and is refused (its holder logs in again);
 * - it claims a lifetime (exp − iat) no longer than JWT_LEGACY_REFRESH_TTL, the old service's refresh lifetime. With
 *   iat before the cut-over this bounds everything: no legacy token at all is honoured once the cut-over is
 *   older than that, even one minted with a SECRET_KEY that leaked (such a key can backdate iat, but not past this).
 */

export interface LegacyClaims { user_id?: unknown; token_type?: unknown; exp?: unknown; iat?: unknown; jti?: unknown }

export interface LegacyTokens {
  /** The claims of a token signed with the old key and not expired; undefined for any other token. */
  claims(token: string): LegacyClaims | undefined
  /** The user a legacy token of `type` may act as, after the checks above (one primary-key read); else 401 token_invalid. */
  userFor(claims: LegacyClaims, type: 'access' | 'refresh'): Promise<number>
}

export function createLegacyTokens(db: Db, opts: { secret: string; lifetimeSeconds: number }): LegacyTokens {
  const verify = createVerifier({ key: opts.secret, algorithms: ['HS256'], requiredClaims: ['exp', 'token_type', 'user_id'], cache: false })
  return {
    claims(token) {
      try {
        return verify(token) as LegacyClaims
      } catch {
        return undefined
      }
    },
    async userFor(claims, type) {
      if (claims.token_type !== type) throw tokenInvalid(`token is not ${type === 'access' ? 'an access' : 'a refresh'} token`)
      // A refresh token is traded once, by its jti: without one it could be traded for ever.
      if (type === 'refresh' && (typeof claims.jti !== 'string' || claims.jti.length === 0)) throw tokenInvalid()
      const { iat, exp } = claims
      if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > opts.lifetimeSeconds) throw tokenInvalid()
      const userId = userIdOf(claims.user_id)
      // The account, whether it is active, and whether the token predates the cut-over (null before any import):
      // primary-key reads and one row of legacy_imports per import, in one round trip.
      const rows = await db.execute<{ is_active: boolean; before_cut_over: boolean | null }>(sql`
        select u.is_active, to_timestamp(${iat}) < (select max(source_read_at) from legacy_imports) as before_cut_over
        from legacy_accounts la join users u on u.id = la.user_id
        where la.user_id = ${userId}`)
      const row = rows[0]
      if (!row?.is_active || row.before_cut_over !== true) throw tokenInvalid()
      return userId
    },
  }
}
