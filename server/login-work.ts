import { pbkdf2, randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { hash, parseOptions, verify } from '@node-rs/argon2'
import { ARGON2ID } from '../shared/argon2id.js'
import { parseDjangoHash, verifyParsedHash, type Argon2Shape } from '../shared/django/hashes.js'
import type { StoredKinds } from './password-census.js'

/*
 * A log-in's password check that costs the same whoever the username names: nobody, an inactive account, a tally
 * account, or one whose hash the Django import kept (pbkdf2 with any iterations, argon2, digests wrapped in argon2id).
 * Every check does the work of every costly kind still stored, in a fixed order: one argon2 verification per argon2
 * shape present (tally's own always), and per PBKDF2 digest present the most iterations stored. The user's own hash
 * takes the slot of its kind (a pbkdf2 hash with fewer iterations is padded with a derivation of the difference:
 * PBKDF2's cost is linear in iterations), dummies fill the others. What is stored is read from PostgreSQL
 * (password-census.ts), at the first log-in and again once a minute; a hash dearer than the census knows (an
 * import since) triggers a re-read before it is verified, and is added if still missing.
 */

const pbkdf2Async = promisify(pbkdf2)
const PAD_SALT = 'tally-login-padding'
const DIGEST_BYTES = { sha256: 32, sha1: 20 } as const
const DIGESTS = ['sha256', 'sha1'] as const
type Digest = typeof DIGESTS[number]

/** One unit of work done: an argon2 verification of a shape, or PBKDF2 iterations of a digest. For tests. */
export type WorkObserver = (slot: string, units: number) => void

export interface LoginPasswords {
  /** Does `password` match `stored` (undefined: no such user)? The same work whatever `stored` holds. */
  check(stored: string | undefined, password: string): Promise<boolean>
  /** Read what is stored now. */
  refresh(): Promise<void>
  observe: WorkObserver | undefined
}

type Own =
  | { slot: 'argon2'; key: string; shape: Argon2Shape; verify: () => Promise<boolean> }
  | { slot: 'pbkdf2'; digest: Digest; iterations: number; verify: () => Promise<boolean> }
  | { slot: 'free'; verify: () => Promise<boolean> } // microseconds: the unwrapped md5/sha1 digests, an unusable password

interface Census { argon2: Map<string, Promise<string>>; pbkdf2: Record<Digest, number>; readAtMs: number }

const keyOf = (s: Argon2Shape) => `a${s.algorithm} v${s.version} m=${s.memoryCost},t=${s.timeCost},p=${s.parallelism}`

async function verifyArgon2(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password)
  } catch {
    return false
  }
}

/** The user's own hash and where it goes; undefined for a hash that never authenticates (nor costs anything). */
function ownOf(stored: string, password: string): Own | undefined {
  if (stored.startsWith('$')) {
    try {
      const o = parseOptions(stored)
      const shape = {
        algorithm: o.algorithm, version: o.version, memoryCost: o.memoryCost, timeCost: o.timeCost, parallelism: o.parallelism,
      }
      return { slot: 'argon2', key: keyOf(shape), shape, verify: () => verifyArgon2(stored, password) }
    } catch {
      return undefined
    }
  }
  const parsed = parseDjangoHash(stored)
  if (typeof parsed === 'string') return undefined
  const verifyOwn = () => verifyParsedHash(parsed, password)
  switch (parsed.kind) {
    case 'argon2':
    case 'wrapped':
      return { slot: 'argon2', key: keyOf(parsed.shape), shape: parsed.shape, verify: verifyOwn }
    case 'pbkdf2':
      return { slot: 'pbkdf2', digest: parsed.digest, iterations: parsed.iterations, verify: verifyOwn }
    default:
      return { slot: 'free', verify: verifyOwn }
  }
}

const covers = (census: Census, own: Own | undefined) =>
  own === undefined || own.slot === 'free' ||
  (own.slot === 'argon2' ? census.argon2.has(own.key) : census.pbkdf2[own.digest] >= own.iterations)

export function createLoginPasswords(opts: { readStoredKinds: () => Promise<StoredKinds>; refreshMs: number }): LoginPasswords {
  // A dummy hash per argon2 shape, made once: a dummy verification is the very call a real one makes.
  const dummies = new Map<string, Promise<string>>()
  const dummyFor = (shape: Argon2Shape) => {
    const key = keyOf(shape)
    let dummy = dummies.get(key)
    if (!dummy) dummies.set(key, dummy = hash(randomBytes(16).toString('hex'), shape))
    return dummy
  }
  const tallyShape: Argon2Shape = {
    algorithm: ARGON2ID.algorithm, version: ARGON2ID.version, memoryCost: ARGON2ID.memoryCost, timeCost: ARGON2ID.timeCost,
    parallelism: ARGON2ID.parallelism,
  }

  let census: Census | undefined
  let reading: Promise<Census> | undefined
  function read(): Promise<Census> {
    reading ??= (async () => {
      try {
        const kinds = await opts.readStoredKinds()
        const shapes = [tallyShape, ...kinds.argon2].sort((a, b) => keyOf(a).localeCompare(keyOf(b)))
        const argon2 = new Map(shapes.map((shape) => [keyOf(shape), dummyFor(shape)]))
        await Promise.all(argon2.values()) // a new shape's dummy is ready before any log-in relies on it
        return (census = { argon2, pbkdf2: kinds.pbkdf2, readAtMs: Date.now() })
      } finally {
        reading = undefined
      }
    })()
    return reading
  }

  const self: LoginPasswords = {
    observe: undefined,
    async refresh() {
      await read()
    },
    async check(stored, password) {
      let now = census ?? await read()
      // A stale census is re-read in the background: it only drifts by logins that upgraded a hash, or an import.
      if (Date.now() - now.readAtMs > opts.refreshMs && !reading) read().catch(() => {})
      const own = stored === undefined ? undefined : ownOf(stored, password)
      if (!covers(now, own)) {
        now = await read()
        // Still missing (the hash changed meanwhile, or a tally hash of other parameters): every log-in pays for it now.
        if (own?.slot === 'argon2' && !now.argon2.has(own.key)) now.argon2.set(own.key, dummyFor(own.shape))
        if (own?.slot === 'pbkdf2') now.pbkdf2[own.digest] = Math.max(now.pbkdf2[own.digest], own.iterations)
      }
      let ok = false
      for (const [key, dummy] of now.argon2) {
        if (own?.slot === 'argon2' && own.key === key) ok = await own.verify()
        else await verifyArgon2(await dummy, password)
        self.observe?.(`argon2 ${key}`, 1)
      }
      for (const digest of DIGESTS) {
        const most = now.pbkdf2[digest]
        if (most === 0) continue
        let left = most
        if (own?.slot === 'pbkdf2' && own.digest === digest) {
          ok = await own.verify()
          self.observe?.(`pbkdf2_${digest}`, own.iterations)
          left -= own.iterations
        }
        if (left > 0) {
          await pbkdf2Async(password, PAD_SALT, left, DIGEST_BYTES[digest], digest)
          self.observe?.(`pbkdf2_${digest}`, left)
        }
      }
      if (own?.slot === 'free') ok = await own.verify()
      return ok
    },
  }
  return self
}
