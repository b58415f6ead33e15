import { test } from 'node:test'
import assert from 'node:assert/strict'
import { usernameKey } from './usernames.js'

test('usernames that read as the same name share one key', () => {
  const same: [string, string, string][] = [
    ['case', 'alice', 'ALICE'],
    ['mixed case', 'Alice', 'aLiCe'],
    ['fullwidth letters (NFKC)', 'ａｌｉｃｅ', 'alice'],
    ['fullwidth capitals (NFKC and case)', 'ＡＬＩＣＥ', 'alice'],
    ['fullwidth digits and underscore', 'bob＿１２', 'bob_12'],
    ['ligature ﬁ (NFKC)', 'ﬁnn', 'finn'],
    ['ligature ﬁ against capitals', 'ﬁnn', 'FINN'],
    ['sharp s against double S', 'Straße', 'STRASSE'],
    ['sharp s against lower double s', 'straße', 'strasse'],
    ['composed against decomposed é', 'Andr\u00e9', 'Andre\u0301'],
    ['Greek case', 'ΣΩΚΡΑΤΗΣ', 'σωκρατης'],
    ['Cyrillic case', 'ИВАН', 'иван'],
  ]
  for (const [why, a, b] of same) assert.equal(usernameKey(a), usernameKey(b), why)
})

test('different names keep different keys', () => {
  const different: [string, string, string][] = [
    ['different letters', 'alice', 'alicia'],
    ['accent matters', 'andre', 'andré'],
    ['Latin a against Cyrillic а', 'alice', '\u0430lice'],
    ['punctuation matters', 'bob.smith', 'bob_smith'],
    ['digits matter', 'user1', 'user2'],
  ]
  for (const [why, a, b] of different) assert.notEqual(usernameKey(a), usernameKey(b), why)
})

test('the key is stable: folding a key again changes nothing', () => {
  for (const name of ['Straße', 'ＡＬＩＣＥ', 'ﬁnn', 'ΣΩΚΡΑΤΗΣ', 'plain']) {
    assert.equal(usernameKey(usernameKey(name)), usernameKey(name), name)
  }
})
