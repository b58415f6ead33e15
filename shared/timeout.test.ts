import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TimeoutError, withTimeout } from './timeout.js'

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

test('a promise that settles in time gives its value or its own error, and leaves no timer behind', async () => {
  const before = activeTimers()
  assert.equal(await withTimeout(Promise.resolve(42), 60_000, 'the answer'), 42)
  await assert.rejects(withTimeout(Promise.reject(new Error('refused')), 60_000, 'the answer'), /^Error: refused$/)
  assert.equal(activeTimers(), before, 'a minute-long timer would otherwise hold the process open')
})

test('a promise that never settles is given up on with a TimeoutError naming what was awaited', async () => {
  const never = new Promise<never>(() => {})
  const err = await withTimeout(never, 20, 'the probe').catch((e: unknown) => e)
  assert.ok(err instanceof TimeoutError)
  assert.equal(err.message, 'the probe did not finish within 20 ms')
  assert.deepEqual({ what: err.what, ms: err.ms }, { what: 'the probe', ms: 20 })
})
