/* global Plot */
// The bench report's only script of its own: draws each chart spec (bench/chart-data.ts) with
// Observable Plot. Inlined into the HTML after d3 and Plot, so it runs with no network. Plain
// browser JavaScript on purpose: it is pasted into the page as is, never compiled or imported.
;(() => {
  const specs = JSON.parse(document.getElementById('chart-data').textContent)
  // Tick labels are 10px by default; the report is read on screen, often zoomed out.
  const style = { fontSize: '12px', overflow: 'visible' }
  const chars = (texts) => Math.max(0, ...texts.map((t) => String(t).length))

  function lines(s, width) {
    return Plot.plot({
      title: s.title, subtitle: s.subtitle, width, height: 260, marginLeft: 56, marginBottom: 42, style,
      x: { label: s.xLabel, labelAnchor: 'center', labelOffset: 36, nice: true },
      y: { label: `↑ ${s.yLabel}`, labelArrow: 'none', grid: true, zero: true, nice: true },
      // A legend even for one series keeps the charts side by side level with each other.
      color: { domain: s.domain, range: s.colors, legend: true },
      marks: [
        Plot.ruleY([0]),
        // Wider lines first: a series equal to another (requests and votes accepted, when every
        // request is a vote) still shows as a rim around the one drawn over it.
        ...s.domain.map((name, i) => Plot.lineY(s.points.filter((p) => p.series === name),
          { x: 'x', y: 'y', stroke: 'series', strokeWidth: [4, 2.5][i] ?? 1.5 })),
        Plot.dot(s.points, { x: 'x', y: 'y', fill: 'series', r: 2 }),
        Plot.tip(s.points, Plot.pointerX({
          x: 'x', y: 'y', stroke: 'series', title: (p) => `${p.series}: ${p.y.toLocaleString('en-US')} at ${p.x} s`,
        })),
      ],
    })
  }

  function bars(s, width) {
    const labels = [...new Set(s.bars.map((b) => b.label))]
    const stacked = labels.length < s.bars.length
    // Stacked rows are labelled with their total at the end; single bars with their own text.
    const ends = stacked
      ? labels.map((label) => {
        const total = s.bars.filter((b) => b.label === label).reduce((t, b) => t + b.value, 0)
        return { label, value: total, text: `${total >= 100 ? Math.round(total) : total.toFixed(1)} µs` }
      })
      : s.bars
    const max = Math.max(...ends.map((e) => e.value))
    const marginLeft = 12 + 7 * chars(labels)
    const marginRight = 14 + 6.6 * chars(ends.map((e) => e.text))
    return Plot.plot({
      title: s.title, subtitle: s.subtitle, width, height: 56 + labels.length * 30, style, marginLeft, marginRight, marginBottom: 42,
      // Room for "30,000" between ticks, however much the labels leave to the bars.
      x: {
        label: s.xLabel, labelAnchor: 'center', labelOffset: 36, grid: true, nice: true,
        ticks: Math.max(2, Math.floor((width - marginLeft - marginRight) / 70)),
      },
      y: { label: null, domain: labels, padding: 0.25 },
      color: { domain: s.domain, range: s.colors, legend: true },
      marks: [
        Plot.barX(s.bars, { x: 'value', y: 'label', fill: 'group', title: (b) => `${b.label}, ${b.group}: ${b.text}` }),
        // A segment's own figure only where it is wide enough to hold it.
        stacked
          ? Plot.text(s.bars, Plot.stackX({
            x: 'value', y: 'label', z: 'group', text: (b) => (b.value > max * 0.12 ? b.text : ''), fill: 'white',
          }))
          : null,
        Plot.text(ends, { x: 'value', y: 'label', text: 'text', textAnchor: 'start', dx: 5 }),
        Plot.ruleX([0]),
      ],
    })
  }

  for (const el of document.querySelectorAll('[data-chart]')) {
    const spec = specs[Number(el.dataset.chart)]
    const width = Math.max(360, el.clientWidth)
    el.replaceChildren(spec.kind === 'lines' ? lines(spec, width) : bars(spec, width))
  }
})()
