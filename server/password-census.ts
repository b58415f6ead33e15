import { sql } from 'drizzle-orm'
import type { Db } from '../shared/db/client.js'
import { argon2ShapeProblem, PBKDF2_ITERATIONS, type Argon2Shape } from '../shared/django/hashes.js'

/** The costly kinds of password hash stored now: every argon2 shape, and the most PBKDF2 iterations per digest (0: none). */
export interface StoredKinds { argon2: Argon2Shape[]; pbkdf2: { sha256: number; sha1: number } }

type Row = {
  algorithm: string; iterations: string | null; variant: string | null; version: string | null; m: string | null; t: string | null
  p: string | null
}

/**
 * What the users table holds besides tally's own argon2id: one row per distinct cost, not per user. Hashes starting
 * with `$` are tally's (all written with ARGON2ID); the rest came from the Django import. Read once a minute per API
 * process, from the partial index users_legacy_hash_idx (an index-only scan of what is left to upgrade, not of every
 * user): it only shrinks as imported users log in and their hashes are upgraded.
 * Costs outside the bounds of shared/django/hashes.ts are left out: such a hash never authenticates, so it is never
 * verified, and a huge cost in one row must not become the price of every login.
 */
export async function readStoredKinds(db: Db): Promise<StoredKinds> {
  const rows = await db.execute<Row>(sql`
    select split_part(password_hash, '$', 1) as algorithm,
      substring(password_hash from '^pbkdf2_sha(?:256|1)\\$([0-9]{1,10})\\$') as iterations,
      substring(password_hash from '\\$(argon2id?)\\$') as variant,
      substring(password_hash from '\\$v=([0-9]{1,3})\\$') as version,
      substring(password_hash from '\\$m=([0-9]{1,10}),t=[0-9]{1,10},p=[0-9]{1,3}\\$') as m,
      substring(password_hash from '\\$m=[0-9]{1,10},t=([0-9]{1,10}),p=[0-9]{1,3}\\$') as t,
      substring(password_hash from '\\$m=[0-9]{1,10},t=[0-9]{1,10},p=([0-9]{1,3})\\$') as p
    from users where password_hash not like '$%'
    group by 1, 2, 3, 4, 5, 6, 7`)
  const kinds: StoredKinds = { argon2: [], pbkdf2: { sha256: 0, sha1: 0 } }
  for (const row of rows) {
    if (row.algorithm === 'pbkdf2_sha256' || row.algorithm === 'pbkdf2_sha1') {
      const iterations = Number(row.iterations)
      const digest = row.algorithm === 'pbkdf2_sha256' ? 'sha256' : 'sha1'
      if (iterations >= PBKDF2_ITERATIONS.min && iterations <= PBKDF2_ITERATIONS.max) {
        kinds.pbkdf2[digest] = Math.max(kinds.pbkdf2[digest], iterations)
      }
    } else if (row.variant !== null && row.m !== null && row.t !== null && row.p !== null) {
      // Django's argon2 and the wrapped digests; a PHC string without v= is version 0x10.
      const shape = {
        algorithm: row.variant === 'argon2id' ? 2 : 1, version: row.version === '19' ? 1 : 0,
        memoryCost: Number(row.m), timeCost: Number(row.t), parallelism: Number(row.p),
      }
      if (argon2ShapeProblem(shape) === null) kinds.argon2.push(shape)
    }
  }
  return kinds
}
