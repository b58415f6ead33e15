import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { parseOptions, verify as verifyArgon2 } from '@node-rs/argon2'
import { hashArgon2id } from '../argon2id.js'

/*
 * Password hashes kept from the Django service, as its hashers write them (`<algorithm>$<fields>`), checked at import
 * (djangoHashProblem: a row outside these rules is reported and refused) and again at every verification: a row's
 * parameters are never trusted, since a 1-byte digest accepts one random password in 256 and a huge iteration count
 * or memory cost is a denial of service on the login path. Known: the hashers of Django's PASSWORD_HASHERS that need
 * nothing beyond node:crypto and argon2, Django's unusable password (`!…`, never logs in), and the cheap legacy digests
 * wrapped into argon2id at import (wrapCheapHash), as Django's own hasher upgrades wrap them.
 */

/**
 * PBKDF2 iterations accepted. The floor only catches rows written by hand or damaged (Django's first PBKDF2 default,
 * in 1.4, was 10,000): a weak count is an offline-cracking weakness that refusing would not undo. The ceiling is the
 * price of every login while such a hash is stored (server/login-work.ts pads every login to the dearest hash
 * present): Django 5.2 writes 1,000,000, and raises it with each release; 2,000,000 costs about 0.4 s of one core here.
 */
export const PBKDF2_ITERATIONS = { min: 1_000, max: 2_000_000 } as const
const PBKDF2_DIGEST_BYTES = { pbkdf2_sha256: 32, pbkdf2_sha1: 20 } as const

/**
 * Argon2 parameters accepted (Django's Argon2PasswordHasher, and tally's wrapped digests). Django writes 100 MiB,
 * 2 passes, 8 lanes (argon2-cffi's older defaults were 512 KiB, 2, 2): 256 MiB is 2.5 times that and bounds the
 * memory one login holds; passes × memory is capped at 1 GiB of blocks (about half a second of one core). The tag
 * must be at least 16 bytes (argon2-cffi writes 16 or 32: a short tag admits random passwords), the salt at least
 * 8 (Argon2's own minimum). argon2i and argon2id only: Django never wrote argon2d.
 */
export const ARGON2_BOUNDS = {
  maxMemoryKiB: 262_144, maxTimeCost: 10, maxBlocks: 1_048_576, maxParallelism: 16, minTagBytes: 16, maxTagBytes: 64, minSaltBytes: 8,
} as const
const ARGON2_VARIANTS: Record<string, number> = { argon2i: 1, argon2id: 2 }

/** What an argon2 verification costs: two hashes of the same shape do the same work. */
export interface Argon2Shape { algorithm: number; version: number; memoryCost: number; timeCost: number; parallelism: number }

type Digest = 'md5' | 'sha1'
const DIGEST_HEX_LENGTH: Record<Digest, number> = { md5: 32, sha1: 40 }
const WRAPPED_PREFIX = 'argon2id_wrapped_'

/** A stored hash taken apart, with its parameters checked. */
export type DjangoHash =
  | { kind: 'pbkdf2'; digest: 'sha256' | 'sha1'; iterations: number; salt: string; expected: Buffer }
  | { kind: 'argon2'; phc: string; shape: Argon2Shape }
  | { kind: 'digest'; digest: Digest; salt: string; expected: Buffer }
  | { kind: 'wrapped'; digest: Digest; salt: string; phc: string; shape: Argon2Shape }
  | { kind: 'unusable' }

/** Does this stored hash come from Django (rather than tally's own `$argon2id$…`)? Such a hash is upgraded at login. */
export const isDjangoHash = (stored: string): boolean => !stored.startsWith('$')

const isCanonicalBase64 = (text: string) => Buffer.from(text, 'base64').toString('base64') === text

/** A PHC string's argon2 parameters, or the reason they are refused. */
function argon2Shape(phc: string, variant: string | undefined): Argon2Shape | string {
  const algorithm = variant === undefined ? undefined : ARGON2_VARIANTS[variant]
  if (algorithm === undefined) return `argon2 variant ${JSON.stringify(variant)} is not argon2i or argon2id`
  let o: ReturnType<typeof parseOptions>
  try {
    o = parseOptions(phc)
  } catch (err) {
    return `argon2 hash is malformed (${(err as Error).message})`
  }
  const b = ARGON2_BOUNDS
  if (o.algorithm !== algorithm) return 'argon2 variant does not match its PHC string'
  const shape = { algorithm: o.algorithm, version: o.version, memoryCost: o.memoryCost, timeCost: o.timeCost, parallelism: o.parallelism }
  const problem = argon2ShapeProblem(shape)
  if (problem !== null) return problem
  if (o.outputLen < b.minTagBytes || o.outputLen > b.maxTagBytes) {
    return `argon2 hash is ${o.outputLen} bytes, expected ${b.minTagBytes}..${b.maxTagBytes}`
  }
  if (o.saltLen < b.minSaltBytes) return `argon2 salt is ${o.saltLen} bytes, expected at least ${b.minSaltBytes}`
  return shape
}

/** null when these argon2 costs are within ARGON2_BOUNDS, else why not. */
export function argon2ShapeProblem(shape: Argon2Shape): string | null {
  const b = ARGON2_BOUNDS
  const { memoryCost: m, timeCost: t, parallelism: p } = shape
  if (!(p >= 1 && p <= b.maxParallelism)) return `argon2 parallelism ${p} is outside 1..${b.maxParallelism}`
  if (!(m >= 8 * p && m <= b.maxMemoryKiB)) return `argon2 memory ${m} KiB is outside ${8 * p}..${b.maxMemoryKiB}`
  if (!(t >= 1 && t <= b.maxTimeCost)) return `argon2 time cost ${t} is outside 1..${b.maxTimeCost}`
  if (m * t > b.maxBlocks) return `argon2 memory × time ${m * t} exceeds ${b.maxBlocks}`
  return null
}

function hexDigest(digest: Digest, algorithm: string, salt: string | undefined, hex: string | undefined): DjangoHash | string {
  if (salt === undefined || hex === undefined) return `${algorithm} hash must be ${algorithm}$salt$hexdigest`
  const length = DIGEST_HEX_LENGTH[digest]
  if (!new RegExp(`^[0-9a-f]{${length}}$`).test(hex)) return `${algorithm} digest must be ${length} lower-case hex digits`
  return { kind: 'digest', digest, salt, expected: Buffer.from(hex, 'hex') }
}

/** The hash taken apart, or the reason it is refused (in words, for the import's report). */
export function parseDjangoHash(stored: string): DjangoHash | string {
  if (stored.startsWith('!')) return { kind: 'unusable' }
  // UnsaltedMD5PasswordHasher's bare 32-digit form.
  if (/^[0-9a-f]{32}$/.test(stored)) return { kind: 'digest', digest: 'md5', salt: '', expected: Buffer.from(stored, 'hex') }
  const [algorithm = '', ...fields] = stored.split('$')
  switch (algorithm) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1': {
      const [iterations = '', salt, encoded] = fields
      if (fields.length !== 3 || !salt || !encoded) return `${algorithm} hash must be ${algorithm}$iterations$salt$digest`
      const rounds = /^[1-9][0-9]{0,9}$/.test(iterations) ? Number(iterations) : NaN
      const { min, max } = PBKDF2_ITERATIONS
      if (!(rounds >= min && rounds <= max)) return `${algorithm} iterations ${iterations} are outside ${min}..${max}`
      if (!isCanonicalBase64(encoded)) return `${algorithm} digest is not base64`
      const expected = Buffer.from(encoded, 'base64')
      const wanted = PBKDF2_DIGEST_BYTES[algorithm]
      if (expected.length !== wanted) {
        return `${algorithm} digest is ${expected.length} byte${expected.length === 1 ? '' : 's'}, expected ${wanted}`
      }
      return { kind: 'pbkdf2', digest: algorithm === 'pbkdf2_sha256' ? 'sha256' : 'sha1', iterations: rounds, salt, expected }
    }
    case 'argon2': {
      // Django's Argon2PasswordHasher: "argon2" then the PHC string without its leading "$".
      const phc = `$${fields.join('$')}`
      const shape = argon2Shape(phc, fields[0])
      return typeof shape === 'string' ? shape : { kind: 'argon2', phc, shape }
    }
    case 'md5':
    case 'sha1':
      // MD5PasswordHasher / SHA1PasswordHasher: hex(digest(salt + password)); an empty salt is the unsalted_* form.
      return fields.length === 2
        ? hexDigest(algorithm, algorithm, fields[0], fields[1])
        : `${algorithm} hash must be ${algorithm}$salt$hexdigest`
    case `${WRAPPED_PREFIX}md5`:
    case `${WRAPPED_PREFIX}sha1`: {
      const digest = algorithm.slice(WRAPPED_PREFIX.length) as Digest
      const [salt, variant, ...rest] = fields
      if (salt === undefined || variant !== 'argon2id' || rest.length === 0) return `${algorithm} hash must be ${algorithm}$salt$argon2id$…`
      const phc = `$${[variant, ...rest].join('$')}`
      const shape = argon2Shape(phc, variant)
      return typeof shape === 'string' ? shape : { kind: 'wrapped', digest, salt, phc, shape }
    }
    case '':
      return stored === '' ? 'the password hash is empty' : 'the password hash has no algorithm'
    default:
      // bcrypt, bcrypt_sha256, scrypt, crypt, or a hasher of the site's own: such a user resets their password.
      return `${algorithm.slice(0, 40)} hashes are not supported`
  }
}

/** null when a Django password hash may be imported as it is (or wrapped), else why not. */
export function djangoHashProblem(stored: string): string | null {
  const parsed = parseDjangoHash(stored)
  return typeof parsed === 'string' ? parsed : null
}

const pbkdf2Async = promisify(pbkdf2)
const digestOf = (digest: Digest, text: string) => createHash(digest).update(text, 'utf8').digest()
const equal = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b)

async function verifyArgon2Safely(phc: string, password: string): Promise<boolean> {
  try {
    return await verifyArgon2(phc, password)
  } catch {
    return false
  }
}

/** Does `password` match this parsed hash? Verified as Django's hashers verify (the UTF-8 bytes of password and salt). */
export async function verifyParsedHash(hash: DjangoHash, password: string): Promise<boolean> {
  switch (hash.kind) {
    case 'pbkdf2':
      // The async form runs on libuv's pool, off the event loop.
      return equal(await pbkdf2Async(password, hash.salt, hash.iterations, hash.expected.length, hash.digest), hash.expected)
    case 'argon2':
      return verifyArgon2Safely(hash.phc, password)
    case 'digest':
      return equal(digestOf(hash.digest, hash.salt + password), hash.expected)
    case 'wrapped':
      return verifyArgon2Safely(hash.phc, digestOf(hash.digest, hash.salt + password).toString('hex'))
    case 'unusable':
      return false
  }
}

/** Django's hashers; anything djangoHashProblem refuses never authenticates. */
export async function verifyDjangoPassword(stored: string, password: string): Promise<boolean> {
  const parsed = parseDjangoHash(stored)
  return typeof parsed !== 'string' && verifyParsedHash(parsed, password)
}

/**
 * The cheap legacy digests (md5, sha1, salted or not) wrapped into tally's argon2id: argon2id over the stored hex
 * digest, the salt kept, as `argon2id_wrapped_<md5|sha1>$<salt>$argon2id$…`. Verifying it costs what a tally hash
 * costs, and a stolen copy no longer yields the password to a GPU in hours. Any other hash comes back unchanged.
 */
export async function wrapCheapHash(stored: string): Promise<string> {
  const parsed = parseDjangoHash(stored)
  if (typeof parsed === 'string' || parsed.kind !== 'digest') return stored
  const phc = await hashArgon2id(parsed.expected.toString('hex'))
  return `${WRAPPED_PREFIX}${parsed.digest}$${parsed.salt}$${phc.slice(1)}`
}
