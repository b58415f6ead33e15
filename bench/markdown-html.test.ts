import { test } from 'node:test'
import assert from 'node:assert/strict'
import { markdownToHtml } from './markdown-html.js'

test('a pipe table becomes a table: header cells, a row header per line, figures aligned right', () => {
  const html = markdownToHtml('| scenario | req/s | change | responses |\n|---|---|---|---|\n' +
    '| vote-spread | 5831 | 5215 → 5831 (+12%) | 202: 87453 |\n| drain | – | – | a <b> |')
  assert.match(html, /<thead><tr><th scope="col">scenario<\/th><th scope="col">req\/s<\/th>/)
  assert.match(html, /<tr><th scope="row">vote-spread<\/th><td class="num">5831<\/td><td class="num">5215 → 5831 \(\+12%\)<\/td><td>202: 87453<\/td><\/tr>/)
  assert.match(html, /<th scope="row">drain<\/th><td class="num">–<\/td>/)
  assert.match(html, /<td>a &lt;b&gt;<\/td>/, 'cell text is escaped')
  assert.doesNotMatch(html, /\|/)
})

test('headings, list items and paragraphs with code keep their shape', () => {
  const html = markdownToHtml('### Compared with a.json\n\nEarlier command: `npm run bench`\nsecond line\n\n- one\n- two')
  assert.match(html, /<h3>Compared with a\.json<\/h3>/)
  assert.match(html, /<p>Earlier command: <code>npm run bench<\/code><br>\nsecond line<\/p>/)
  assert.match(html, /<ul>\n<li>one<\/li>\n<li>two<\/li>\n<\/ul>/)
})
