// The README and the reference in docs/ point at each other, at anchors and at files of the repo: a heading
// renamed or a file moved must fail a test, not leave a newcomer at a dead link.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const ROOT = new URL('..', import.meta.url).pathname
const DOCS = ['README.md', 'bench/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** The text a reader sees, without fenced code blocks (whose brackets are shell, not links). */
const withoutCodeBlocks = (markdown: string) => markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '')

/** GitHub's anchor for a heading: the rendered text, lower-cased, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '')
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
}

/** Every anchor a Markdown file offers; a repeated heading gets -1, -2 … as on GitHub. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const [, heading] of withoutCodeBlocks(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = slug(heading!)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

/** The relative links of `file` (repo-relative) whose file or anchor does not exist, as "target: why". */
function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const text = withoutCodeBlocks(markdown).replace(/`[^`\n]*`/g, '')
  const broken: string[] = []
  for (const [, target] of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?: +"[^"]*")?\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue // http:, https:, mailto: are not ours to check
    const [path = '', anchor] = target!.split('#')
    const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path))
    const content = path === '' ? markdown : read(resolved)
    if (content === undefined) broken.push(`${target}: no file ${resolved}`)
    else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(content).has(anchor)) {
      broken.push(`${target}: no heading #${anchor} in ${resolved}`)
    }
  }
  return broken
}

const readRepoFile = (path: string) => {
  const full = join(ROOT, path)
  if (relative(ROOT, full).startsWith('..') || !existsSync(full)) return undefined
  try { return readFileSync(full, 'utf8') } catch { return '' } // a directory exists, and has no headings
}

test('every relative link in the README, docs/*.md and bench/README.md reaches an existing file and heading', () => {
  assert.ok(DOCS.includes('docs/api.md'), 'docs/ holds the reference')
  for (const file of DOCS) assert.deepEqual(brokenLinks(file, readRepoFile(file)!, readRepoFile), [], file)
})

test('the link check catches a missing file and a missing heading, and skips code and web links', () => {
  const files: Record<string, string> = { 'docs/a.md': '# Title\n## GET /api/contents/:id/\n## Notes\n## Notes\n' }
  const read = (path: string) => files[path]
  const markdown = [
    '[ok](a.md#get-apicontentsid) [ok](a.md#notes-1) [ok](#x) [web](https://example.com/nope)',
    '[gone](b.md) [no heading](a.md#nope) `[code](c.md)`',
    '```sh', '[in a block](d.md)', '```', '# x',
  ].join('\n')
  assert.deepEqual(brokenLinks('docs/a.md', markdown, read), ['b.md: no file docs/b.md', 'a.md#nope: no heading #nope in docs/a.md'])
})
