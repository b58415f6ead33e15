import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { verify as verifyArgon2 } from '@node-rs/argon2'

/*
 * Password hashes kept from the Django service (issue 12's import), verified as Django's hashers verify them,
 * so its users log in with the passwords they had; on the first success the route replaces the hash with
 * tally's argon2id. Django writes `<algorithm>$<fields>`; the hashers of Django's PASSWORD_HASHERS that need
 * nothing beyond node:crypto and argon2 are known here. A hash of another kind (bcrypt_sha256, scrypt, crypt)
 * or Django's unusable password (`!…`) never authenticates: such a user resets their password.
 */

const pbkdf2Async = promisify(pbkdf2)

/** Does this stored hash come from Django (rather than tally's own `$argon2id$…`)? */
export const isDjangoHash = (stored: string): boolean => !stored.startsWith('$')

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

const digest = (algorithm: 'sha1' | 'md5', text: string) => createHash(algorithm).update(text, 'utf8').digest()

/** Django's hashers: `pbkdf2_sha256$iterations$salt$base64`, the legacy salted and unsalted digests, argon2. */
export async function verifyDjangoPassword(stored: string, password: string): Promise<boolean> {
  const [algorithm, ...fields] = stored.split('$')
  switch (algorithm) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1': {
      const [iterations, salt, encoded] = fields
      const rounds = Number(iterations)
      if (fields.length !== 3 || !Number.isSafeInteger(rounds) || rounds < 1 || rounds > 10_000_000 || !salt || !encoded) return false
      const expected = Buffer.from(encoded, 'base64')
      if (expected.length === 0) return false
      // Django derives a key as long as the digest (32 or 20 bytes); the async form runs on libuv's pool.
      const derived = await pbkdf2Async(password, salt, rounds, expected.length, algorithm === 'pbkdf2_sha256' ? 'sha256' : 'sha1')
      return equal(derived, expected)
    }
    case 'argon2':
      // Django's Argon2PasswordHasher: "argon2" then the PHC string without its leading "$".
      try {
        return await verifyArgon2(`$${fields.join('$')}`, password)
      } catch {
        return false
      }
    case 'sha1':
    case 'md5': {
      // SHA1PasswordHasher / MD5PasswordHasher: hex(digest(salt + password)); an empty salt is the unsalted_* form.
      const [salt, hex] = fields
      if (fields.length !== 2 || salt === undefined || !hex || !/^[0-9a-f]+$/.test(hex)) return false
      return equal(digest(algorithm, salt + password), Buffer.from(hex, 'hex'))
    }
    default:
      // UnsaltedMD5PasswordHasher also wrote a bare 32-digit hex digest.
      if (fields.length === 0 && /^[0-9a-f]{32}$/.test(stored)) return equal(digest('md5', password), Buffer.from(stored, 'hex'))
      return false
  }
}
