/**
 * The Markdown the bench writes (headings, pipe tables, list items, paragraphs, `code`) as HTML, so
 * the HTML report shows the very tables of the .md file as real tables. Only that subset: the input
 * is ours (report.ts, compare.ts), never a user's.
 */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

const inline = (s: string) => escapeHtml(s).replace(/`([^`]+)`/g, '<code>$1</code>')

/** Figures, dashes, ratios and "before → now (±x%)" read as numbers: aligned right, in tabular digits. */
const isFigure = (cell: string) => /^[\d.,%–−+→×() ±]+$/.test(cell) && /[\d–]/.test(cell)

const cellsOf = (line: string) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim())

function table(lines: string[]): string {
  const [head, , ...body] = lines
  const th = cellsOf(head!).map((c) => `<th scope="col">${inline(c)}</th>`).join('')
  const rows = body.map((line) => `<tr>${cellsOf(line).map((c, i) => (i === 0
    ? `<th scope="row">${inline(c)}</th>`
    : `<td${isFigure(c) ? ' class="num"' : ''}>${inline(c)}</td>`)).join('')}</tr>`)
  // The wrapper scrolls a table wider than the page (the comparison's) instead of spilling out of it.
  return `<div class="table"><table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table></div>`
}

export function markdownToHtml(markdown: string): string {
  const blocks = markdown.split(/\n\s*\n/).map((b) => b.split('\n').filter((l) => l.trim() !== '')).filter((b) => b.length > 0)
  return blocks.map((lines) => {
    const heading = /^(#{1,6}) (.*)$/.exec(lines[0]!)
    if (heading && lines.length === 1) return `<h${heading[1]!.length}>${inline(heading[2]!)}</h${heading[1]!.length}>`
    if (lines.length >= 2 && lines.every((l) => l.trimStart().startsWith('|'))) return table(lines)
    if (lines.every((l) => l.startsWith('- '))) return `<ul>\n${lines.map((l) => `<li>${inline(l.slice(2))}</li>`).join('\n')}\n</ul>`
    return `<p>${lines.map(inline).join('<br>\n')}</p>`
  }).join('\n')
}
