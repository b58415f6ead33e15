// The vectors were made with Python's hashlib, as Django's hashers make them (base64 of pbkdf2_hmac; hex of
// sha1/md5 over salt + password): an implementation other than the one under test.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hash } from '@node-rs/argon2'
import { isDjangoHash, verifyDjangoPassword } from './django-passwords.js'

const vectors: [string, string][] = [
  ['pbkdf2_sha256$1000$seasalt$Su9dfSsH4wvWyOW04PCozUlraloIqPr3DBwOYLtli4o=', '1234'],
  // Django 5's default iteration count, and a password beyond ASCII (Django hashes its UTF-8 bytes).
  ['pbkdf2_sha256$870000$Nw8bH2zSNAnT$ezuGfdHzhqJmg4sTkJ77KDmUBJ+JDYgzQWeZT2iInvU=', 'lètmein'],
  ['pbkdf2_sha1$20000$salty$4G3QikZmPnm0191AXncrTOJm6Ao=', 'correct horse'],
  ['sha1$salt1$725419069c205f75d832ef401f6e5b5d1cc3165f', 'legacy'],
  ['md5$s2$a6f216c1973655418c93591eac9577ad', 'legacy'],
  ['ac7938d40cfc2307e2bf325d28e7884e', 'plain'],
]

test('Django password hashes verify with the right password and only with it', async () => {
  for (const [stored, password] of vectors) {
    assert.equal(await verifyDjangoPassword(stored, password), true, stored)
    assert.equal(await verifyDjangoPassword(stored, `${password}x`), false, `${stored} with a wrong password`)
    assert.equal(isDjangoHash(stored), true)
  }
})

test('Django\'s argon2 hasher (argon2$argon2id$…) verifies through the PHC string it wraps', async () => {
  const phc = await hash('s3cret', { algorithm: 2, memoryCost: 1024, timeCost: 1 })
  assert.equal(await verifyDjangoPassword(`argon2${phc}`, 's3cret'), true)
  assert.equal(await verifyDjangoPassword(`argon2${phc}`, 'other'), false)
  assert.equal(isDjangoHash(phc), false, 'tally\'s own hashes are not Django\'s')
})

test('hashes that are unusable, unknown or malformed never authenticate', async () => {
  for (const stored of ['!unusablepassword', 'bcrypt_sha256$$2b$12$abc', 'pbkdf2_sha256$0$salt$AAAA', 'pbkdf2_sha256$1000$salt$',
    'pbkdf2_sha256$99999999999$salt$AAAA', 'sha1$salt$nothex', '', 'md5$$']) {
    assert.equal(await verifyDjangoPassword(stored, ''), false, JSON.stringify(stored))
    assert.equal(await verifyDjangoPassword(stored, 'password'), false, JSON.stringify(stored))
  }
})
