import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clockTicksPerSecond, descendantsOf, parseStatLine, readProcessTable, readProcStat } from './proc-cpu.js'

// Fields 3..52 of a real line (redis-server's), with utime 299 (field 14), stime 59 (15), starttime 5793 (22).
const TAIL = 'S 1 2204 2204 0 -1 4194624 3868 0 0 0 299 59 0 0 20 0 6 0 5793 86405120 4498 18446744073709551615 ' +
  '93845659107328 93845660249789 140720909910368 0 0 0 0 12289 17642 0 0 0 17 1 0 0 0 0 0 93845660733232 93845661107048 ' +
  '93846311837696 140720909912759 140720909912899 140720909912899 140720909914082 0'

const cases: {
  name: string; line: string; want: { pid: number; comm: string; ppid: number; cpuTicks: number; startTicks: number }
}[] = [
  { name: 'a plain name', line: `2204 (redis-server) ${TAIL}`,
    want: { pid: 2204, comm: 'redis-server', ppid: 1, cpuTicks: 358, startTicks: 5793 } },
  { name: 'a name with spaces', line: `17 (tmux: server) ${TAIL}`,
    want: { pid: 17, comm: 'tmux: server', ppid: 1, cpuTicks: 358, startTicks: 5793 } },
  { name: 'a name with a closing parenthesis and a space after it', line: `9 (a) b) ${TAIL}`,
    want: { pid: 9, comm: 'a) b', ppid: 1, cpuTicks: 358, startTicks: 5793 } },
  { name: 'a name that looks like fields', line: `9 (x) R 7 1 1) ${TAIL}`,
    want: { pid: 9, comm: 'x) R 7 1 1', ppid: 1, cpuTicks: 358, startTicks: 5793 } },
  { name: 'a name of nested parentheses', line: `31 ((sd-pam)) ${TAIL}`,
    want: { pid: 31, comm: '(sd-pam)', ppid: 1, cpuTicks: 358, startTicks: 5793 } },
  { name: 'an empty name', line: `5 () ${TAIL}`, want: { pid: 5, comm: '', ppid: 1, cpuTicks: 358, startTicks: 5793 } },
  { name: 'a trailing newline, as read from the file', line: `2204 (node) ${TAIL}\n`,
    want: { pid: 2204, comm: 'node', ppid: 1, cpuTicks: 358, startTicks: 5793 } },
  {
    name: 'large tick counts (a long-lived busy process)',
    line: '4242 (postgres) S 2184 2184 2184 0 -1 4194624 1 0 0 0 987654321 123456789 0 0 20 0 1 0 99999999 0 0',
    want: { pid: 4242, comm: 'postgres', ppid: 2184, cpuTicks: 1_111_111_110, startTicks: 99_999_999 },
  },
]

for (const c of cases) {
  test(`a stat line with ${c.name} parses after the last ')'`, () => {
    assert.deepEqual(parseStatLine(c.line), c.want)
  })
}

const malformed: { name: string; line: string; error: RegExp }[] = [
  { name: 'no parentheses', line: '12 node S 1 2 3', error: /not a \/proc stat line/ },
  { name: 'too few fields', line: '12 (node) S 1 2 3 0 -1 4194624', error: /field 14 missing/ },
  { name: 'a non-numeric utime', line: '12 (node) S 1 2 3 0 -1 4194624 1 0 0 0 x 5 0 0 20 0 1 0 7', error: /field 14/ },
  { name: 'no pid', line: `(node) ${TAIL}`, error: /no pid/ },
]

for (const c of malformed) {
  test(`a stat line with ${c.name} is refused`, () => {
    assert.throws(() => parseStatLine(c.line), c.error)
  })
}

test('descendants are every process below the root, at any depth, and nothing else', () => {
  const table = new Map([
    [1, { ppid: 0 }], [10, { ppid: 1 }], [11, { ppid: 10 }], [12, { ppid: 10 }], [13, { ppid: 12 }], [20, { ppid: 1 }], [21, { ppid: 20 }],
  ])
  assert.deepEqual(descendantsOf(table, 10), [11, 12, 13])
  assert.deepEqual(descendantsOf(table, 13), [])
  assert.deepEqual(descendantsOf(table, 99), [])
})

test('a cycle in a torn table ends the search instead of looping', () => {
  assert.deepEqual(descendantsOf(new Map([[2, { ppid: 3 }], [3, { ppid: 2 }]]), 2), [3])
})

test('the readers see this process, its parent and a sane tick rate', () => {
  const self = readProcStat(process.pid)
  assert.ok(self, '/proc/self/stat is readable')
  assert.equal(self.ppid, process.ppid)
  assert.ok(readProcessTable().has(process.pid))
  assert.equal(readProcStat(2 ** 30), undefined, 'no such process')
  assert.ok(clockTicksPerSecond() >= 100)
})
