import { test } from 'node:test'
import assert from 'node:assert/strict'
import { planNames } from './collisions.js'

const people = [
  { id: 1, username: 'alice' }, { id: 2, username: 'Alice' }, { id: 3, username: 'ＡＬＩＣＥ' }, { id: 4, username: 'alice_2' },
  { id: 5, username: 'bob' },
]

test('the lowest id keeps a name; later ones that fold to it get the first suffix no account has, its own name included', () => {
  const plan = planNames(people, 'suffix')
  // alice_2 is a real account (id 4): it keeps its name, and Alice becomes Alice_3.
  assert.deepEqual([...plan.names].sort(([a], [b]) => a - b).map(([id, n]) => [id, n.username]),
    [[1, 'alice'], [2, 'Alice_3'], [3, 'ＡＬＩＣＥ_4'], [4, 'alice_2'], [5, 'bob']])
  assert.deepEqual(plan.collisions.map((c) => [c.id, c.collidesWith, c.resolution, c.renamedTo]),
    [[2, 1, 'renamed', 'Alice_3'], [3, 1, 'renamed', 'ＡＬＩＣＥ_4']])
})

test('a second plan over the names the first wrote gives every id the same name (the import is re-runnable)', () => {
  const first = planNames(people, 'suffix')
  const taken = new Map([...first.names].map(([id, n]) => [n.key, id]))
  const second = planNames(people, 'suffix', taken)
  assert.deepEqual([...second.names].sort(([a], [b]) => a - b), [...first.names].sort(([a], [b]) => a - b))
})

test('skip leaves the later accounts out; refuse names them and plans nothing for them', () => {
  const skipped = planNames(people, 'skip')
  assert.deepEqual([...skipped.skipped], [2, 3])
  assert.deepEqual([...skipped.names.keys()].sort(), [1, 4, 5])
  const refused = planNames(people, 'refuse')
  assert.deepEqual(refused.collisions.map((c) => [c.id, c.resolution]), [[2, 'refused'], [3, 'refused']])
})

test('a name already used in tally by another account counts as taken', () => {
  const plan = planNames([{ id: 7, username: 'Carol' }], 'suffix', new Map([['carol', 99]]))
  assert.deepEqual([...plan.names.values()].map((n) => n.username), ['Carol_2'])
})
