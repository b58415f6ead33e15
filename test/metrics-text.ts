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
