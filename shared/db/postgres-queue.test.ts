import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

/*
 * postgres.js 3.4.9 keeps its connections in queues whose array grew by one slot per query while every
 * connection stayed busy (the queue never drained), and moving a connection scanned that whole array:
 * under steady load each query cost more than the last (per detail read, 80 → 113 µs of API CPU in a
 * 10 s run, and growing) and the array never shrank. patches/postgres+3.4.9.patch fixes it; npm ci
 * applies it (postinstall: patch-package).
 */
const builds = ['src', 'cjs/src', 'cf/src'].map((dir) => new URL(`../../node_modules/postgres/${dir}/queue.js`, import.meta.url))

interface Queue<T> { readonly length: number; push(x: T): T; shift(): T | undefined; remove(x: T): T | null }

test('every build of postgres.js carries the queue patch (npm ci ran its postinstall)', () => {
  for (const file of builds) assert.match(readFileSync(file, 'utf8'), /xs\.indexOf\(x, index\)/, file.pathname)
})

test('the patched queue stays first-in first-out, and remove finds exactly what is queued, under a queue that never drains', async () => {
  const { default: Queue } = await import(builds[0]!.href) as { default: <T>(initial?: T[]) => Queue<T> }
  const q = Queue<number>()
  const model: number[] = []
  q.push(-1); model.push(-1)
  // Two in, one out, one removed from the middle, for long enough to cross many compactions.
  for (let i = 0; i < 50_000; i++) {
    q.push(2 * i); q.push(2 * i + 1); model.push(2 * i, 2 * i + 1)
    assert.equal(q.shift(), model.shift())
    const victim = model[Math.floor(model.length / 2)]!
    assert.equal(q.remove(victim), victim)
    model.splice(model.indexOf(victim), 1)
    assert.equal(q.length, model.length)
  }
  const taken = model[0]!
  assert.equal(q.shift(), taken)
  assert.equal(q.remove(taken), null, 'what shift() took is no longer in the queue')
  const rest: number[] = []
  while (q.length > 0) rest.push(q.shift()!)
  assert.deepEqual(rest, model.slice(1))
})
