import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseLockMessage, parseReadChange } from './change-messages.js'

test('announcements parse to changed contents, and anything unexpected to "everything changed"', () => {
  assert.deepEqual(parseReadChange('3,14,15'), { all: false, contentIds: [3, 14, 15] })
  for (const message of ['*', '', '3,x', '3,,4', '-1', '1.5']) assert.deepEqual(parseReadChange(message), { all: true }, message)
})

test('lock announcements parse to a content and its lock end; malformed ones to null', () => {
  assert.deepEqual(parseLockMessage('42 1764583200000'), { contentId: 42, untilMs: 1764583200000 })
  for (const message of ['42', 'x 1', '0 5', '42 1.5', '']) assert.equal(parseLockMessage(message), null, message)
})
