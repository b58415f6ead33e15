import { randomBytes } from 'node:crypto'
import { hash, verify } from '@node-rs/argon2'
import { isDjangoHash, verifyDjangoPassword } from './django-passwords.js'

// OWASP's argon2id minimum (19 MiB, 2 passes). The work runs on libuv's pool, off the event loop.
// algorithm 2 = Argon2id (the package's const enum cannot be imported under verbatimModuleSyntax).
const PARAMS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export const hashPassword = (password: string) => hash(password, PARAMS)

/** tally's argon2id hashes, and the Django hashes an import kept (server/django-passwords.ts). */
export async function verifyPassword(hashed: string, password: string): Promise<boolean> {
  if (isDjangoHash(hashed)) return verifyDjangoPassword(hashed, password)
  try {
    return await verify(hashed, password)
  } catch {
    return false // a malformed stored hash never authenticates
  }
}

/** A hash to replace with argon2id at the next successful login: one the Django service wrote. */
export const needsRehash = (hashed: string): boolean => isDjangoHash(hashed)

let dummy: Promise<string> | undefined
/**
 * A hash of a random password, made once. Logins for unknown users verify against it so they take
 * as long as a wrong password for a real user: timing does not tell which usernames exist.
 */
export function dummyHash(): Promise<string> {
  return (dummy ??= hashPassword(randomBytes(16).toString('hex')))
}
