/**
 * Reading Prometheus' text format in tests: the samples of a scrape, and the metric names it exposes.
 */

/** Series (name with its labels, as written) → value; comments skipped. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const space = line.lastIndexOf(' ')
    out.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return out
}

/** The value of the one series of `name` whose labels include every one of `labels`; undefined when none does. */
export function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const [series, value] of samples(text)) {
    const brace = series.indexOf('{')
    if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue
    const have = brace < 0 ? [] : series.slice(brace + 1, -1).split(/,(?=[a-zA-Z_]+=")/)
    if (wanted.every((w) => have.includes(w))) return value
  }
  return undefined
}

const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] }

/** Every name a query may use: each family of a `# TYPE` line, and a histogram's _bucket/_sum/_count series. */
export function metricNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!)
    for (const suffix of SUFFIXES[m[2]!] ?? []) names.add(`${m[1]}${suffix}`)
  }
  return names
}

const PROMQL_WORDS = new Set([
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan',
])

/**
 * The metric names a PromQL expression selects: identifiers that are not functions (followed by "("),
 * keywords, label names (inside {} or by/without/on/ignoring lists), durations or strings.
 */
export function promqlMetricNames(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\S+/g, ' ')
  const names = new Set<string>()
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = bare.slice(m.index! + m[0].length).trimStart()
    if (after.startsWith('(') || PROMQL_WORDS.has(m[0].toLowerCase())) continue
    // A number like 1e3 is not a name.
    if (m.index! > 0 && /[0-9.]/.test(bare[m.index! - 1]!)) continue
    names.add(m[0])
  }
  return names
}
