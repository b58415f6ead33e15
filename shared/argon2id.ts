import { hash } from '@node-rs/argon2'

/**
 * tally's password hash: argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane). The work runs on libuv's pool,
 * off the event loop. Shared by the API (hashes at registration and login) and the Django import (wraps the
 * cheap legacy digests into the same shape, so a wrapped hash costs what a tally hash costs to verify).
 * algorithm 2 = Argon2id, version 1 = 0x13 (the package's const enums cannot be imported under verbatimModuleSyntax).
 */
export const ARGON2ID = { algorithm: 2, version: 1, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export const hashArgon2id = (password: string) => hash(password, ARGON2ID)
