import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseReceipt, receiptPrefixes } from './vote-receipt.js'

test('a receipt is the shard\'s stream tag and the entry id, and parses back into both', () => {
  assert.deepEqual(receiptPrefixes(1), ['0:'])
  assert.deepEqual(receiptPrefixes(6), ['0.1:', '1.3:', '2.2:', '3.43:', '4.20:', '5.8:'], 'the tags docs/operations.md lists for 6 shards')
  assert.deepEqual(parseReceipt(`${receiptPrefixes(6)[3]}1795582396825-17`), { tag: '3.43', entryId: '1795582396825-17' })
  for (const text of ['1795582396825-0', '0:', ':1-0', '0:1-0-0', '0:1795582396825', 'x:1-0', '{0}:1-0']) {
    assert.equal(parseReceipt(text), null, text)
  }
})
