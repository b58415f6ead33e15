import { verify } from '@node-rs/argon2'
import { hashArgon2id } from '../shared/argon2id.js'
import { isDjangoHash, verifyDjangoPassword } from '../shared/django/hashes.js'

export const hashPassword = hashArgon2id

/** tally's argon2id hashes, and the Django hashes an import kept (shared/django/hashes.ts). */
export async function verifyPassword(hashed: string, password: string): Promise<boolean> {
  if (isDjangoHash(hashed)) return verifyDjangoPassword(hashed, password)
  try {
    return await verify(hashed, password)
  } catch {
    return false // a malformed stored hash never authenticates
  }
}

/** A hash to replace with argon2id at the next successful login: one the Django service wrote (or the import wrapped). */
export const needsRehash = (hashed: string): boolean => isDjangoHash(hashed)
