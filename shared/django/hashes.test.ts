// The vectors were made with Python's hashlib, as Django's hashers make them (base64 of pbkdf2_hmac; hex of
// sha1/md5 over salt + password): an implementation other than the one under test.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { hash, parseOptions } from '@node-rs/argon2'
import { ARGON2ID } from '../argon2id.js'
import { djangoHashProblem, isDjangoHash, verifyDjangoPassword, wrapCheapHash } from './hashes.js'

const vectors: [string, string][] = [
  ['pbkdf2_sha256$1000$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o=', '1234'],
  // Django 5's default iteration count, and a password beyond ASCII (Django hashes its UTF-8 bytes).
  ['pbkdf2_sha256$870000$Nw8bH2zSNAnT$ezuGfdHzhqJmg4sTkJ77KDmUBJ+JDYgzQWeZT2iInvU=', 'lètmein'],
  ['pbkdf2_sha1$20000$salty$4G3QikZmPnm0191AXncrTOJm6Ao=', 'correct horse'],
  ['sha1$salt1$725419069c205f75d832ef401f6e5b5d1cc3165f', 'legacy'],
  ['sha1$$9b33046ed39d182e3adafa9045ad6787d4bbc321', 'legacy'],
  ['md5$s2$a6f216c1973655418c93591eac9577ad', 'legacy'],
  ['md5$salty$a08ff5fa0b5dfb6f926589ca5b5449d3', 'pw'],
  ['ac7938d40cfc2307e2bf325d28e7884e', 'plain'],
]
const djangoArgon2 = (phc: string) => `argon2${phc}`

test('Django password hashes verify with the right password and only with it', async () => {
  for (const [stored, password] of vectors) {
    assert.equal(djangoHashProblem(stored), null, stored)
    assert.equal(await verifyDjangoPassword(stored, password), true, stored)
    assert.equal(await verifyDjangoPassword(stored, `${password}x`), false, `${stored} with a wrong password`)
    assert.equal(isDjangoHash(stored), true)
  }
})

test('Django\'s argon2 hasher (argon2$argon2id$…, argon2$argon2i$…, ' +
  'with or without v=) verifies through the PHC string it wraps', async () => {
  const id = await hash('s3cret', { algorithm: 2, memoryCost: 1024, timeCost: 1 })
  // argon2-cffi's early format (Django 1.10): argon2i, version 0x10, written without v=.
  const old = (await hash('s3cret', { algorithm: 1, version: 0, memoryCost: 512, timeCost: 2, parallelism: 2, outputLen: 16 }))
    .replace('$v=16', '')
  for (const phc of [id, old]) {
    assert.equal(djangoHashProblem(djangoArgon2(phc)), null, phc)
    assert.equal(await verifyDjangoPassword(djangoArgon2(phc), 's3cret'), true, phc)
    assert.equal(await verifyDjangoPassword(djangoArgon2(phc), 'other'), false, phc)
  }
  assert.equal(isDjangoHash(id), false, 'tally\'s own hashes are not Django\'s')
})

test('djangoHashProblem names what is wrong with a hash outside the bounds, and accepts an unusable password', async () => {
  const argon2 = async (options: Parameters<typeof hash>[1]) => djangoArgon2(await hash('x', { algorithm: 2, ...options }))
  const withParams = async (params: string) => (await argon2({ memoryCost: 1024, timeCost: 1 })).replace(/m=\d+,t=\d+,p=\d+/, params)
  const cases: [string, RegExp | null][] = [
    ['!ZsR1IuVAXh2XJbqE1Mzy1EMCuO6bljZDAHQyBpHp', null],
    ['pbkdf2_sha256$1000$salt$AA==', /pbkdf2_sha256 digest is 1 byte, expected 32/],
    ['pbkdf2_sha1$20000$salty$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o=', /pbkdf2_sha1 digest is 32 bytes, expected 20/],
    ['pbkdf2_sha256$10000000$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o=', /iterations 10000000 are outside 1000\.\.2000000/],
    ['pbkdf2_sha256$999$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o=', /iterations 999 are outside/],
    ['pbkdf2_sha256$1e5$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o=', /iterations 1e5/],
    ['pbkdf2_sha256$1000$salt$', /must be pbkdf2_sha256\$iterations\$salt\$digest/],
    ['pbkdf2_sha256$1000$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o', /not base64/],
    ['md5$salt$abc', /md5 digest must be 32 lower-case hex digits/],
    ['sha1$salt$A25419069C205F75D832EF401F6E5B5D1CC3165F', /sha1 digest must be 40/],
    ['md5$$', /md5 digest must be 32/],
    ['bcrypt_sha256$$2b$12$abc', /bcrypt_sha256 hashes are not supported/],
    ['', /empty/],
    [await withParams('m=4194304,t=2,p=8'), /argon2 memory 4194304 KiB is outside 64\.\.262144/],
    [await withParams('m=1024,t=100,p=1'), /argon2 time cost 100 is outside 1\.\.10/],
    [await withParams('m=262144,t=8,p=1'), /memory × time 2097152 exceeds 1048576/],
    [await withParams('m=1024,t=1,p=64'), /parallelism 64 is outside 1\.\.16/],
    [await argon2({ memoryCost: 1024, timeCost: 1, outputLen: 8 }), /argon2 hash is 8 bytes, expected 16\.\.64/],
    [(await argon2({ memoryCost: 1024, timeCost: 1 })).replace('argon2$argon2id', 'argon2$argon2d'), /variant "argon2d"/],
    ['argon2$argon2id$v=19$m=1024,t=1,p=1$nonsense', /argon2 hash is malformed/],
  ]
  for (const [stored, problem] of cases) {
    const found = djangoHashProblem(stored)
    if (problem === null) assert.equal(found, null, stored)
    else assert.match(found ?? 'accepted', problem, stored)
    assert.equal(await verifyDjangoPassword(stored, 'x'), false, `${stored} never authenticates`)
  }
})

test('a 1-byte pbkdf2 digest admits none of 2,000 random passwords (it admitted 1 in 256)', async () => {
  let admitted = 0
  for (let i = 0; i < 2000; i++) {
    if (await verifyDjangoPassword('pbkdf2_sha256$1000$salt$AA==', randomBytes(9).toString('base64'))) admitted++
  }
  assert.equal(admitted, 0)
})

test('the cheap digests are wrapped into tally\'s argon2id, the salt kept, and still verify with the old password', async () => {
  for (const [stored, password] of vectors.filter(([s]) => /^(md5|sha1)\$|^[0-9a-f]{32}$/.test(s))) {
    const wrapped = await wrapCheapHash(stored)
    assert.match(wrapped, /^argon2id_wrapped_(md5|sha1)\$[^$]*\$argon2id\$v=19\$/, stored)
    assert.equal(wrapped.split('$')[1], stored.includes('$') ? stored.split('$')[1] : '', 'the salt is kept')
    assert.equal(wrapped.includes(stored.split('$').at(-1)!), false, 'the digest itself is no longer stored')
    const inner = parseOptions(`$${wrapped.split('$').slice(2).join('$')}`)
    assert.deepEqual([inner.algorithm, inner.memoryCost, inner.timeCost, inner.parallelism],
      [ARGON2ID.algorithm, ARGON2ID.memoryCost, ARGON2ID.timeCost, ARGON2ID.parallelism], 'the shape of tally\'s own hashes')
    assert.equal(djangoHashProblem(wrapped), null)
    assert.equal(isDjangoHash(wrapped), true, 'upgraded to a plain argon2id hash at the first login')
    assert.equal(await verifyDjangoPassword(wrapped, password), true, stored)
    assert.equal(await verifyDjangoPassword(wrapped, `${password}x`), false, stored)
  }
  for (const [stored] of vectors.filter(([s]) => s.startsWith('pbkdf2'))) assert.equal(await wrapCheapHash(stored), stored)
  assert.equal(await wrapCheapHash('!unusable'), '!unusable')
  assert.equal(await wrapCheapHash('md5$salt$abc'), 'md5$salt$abc', 'a refused hash is not wrapped either')
})
