/**
 * The HTML report of a load-test run (`npm run loadtest -- <scenario|all> --html <file>`): one
 * self-contained file, no script, no external asset (a Content-Security-Policy forbids any), that
 * a browser opens from disk. For every scenario: the table's rows (table.ts), then for each run
 * measured (the scenario's own, its baseline, the other setups it was compared with) a chart of
 * its throughput second by second and a histogram of its latencies, as inline SVG drawn here,
 * with its percentiles. Everything the charts show is also in the page as JSON
 * (`<script type="application/json" id="loadtest-data">`), with the scenarios' JSON lines.
 *
 * The SVG elements carry their figures as data attributes (`data-chart`, `data-second`,
 * `data-value`, `data-from-ms`, `data-count`, `data-percentile`, `data-ms`), for tests and for
 * whoever wants to read the numbers back.
 */
import { cpus } from 'node:os'
import type { Options, Report, RunRecord } from './lib.js'
import { cells, columnTitles, scenarioRows, type Row } from './table.js'

/** What one scenario left: its report (the JSON line) or the error it failed with, and its runs. */
export interface ScenarioResult {
  readonly scenario: string
  readonly description: string
  readonly report?: Report
  readonly error?: string
  readonly runs: readonly RunRecord[]
}

export interface ReportMeta {
  /** The command line, as typed (roughly). */
  readonly command: string
  readonly startedAt: Date
  readonly finishedAt: Date
  readonly options: Options
}

// ---------------------------------------------------------------- the page

export function htmlReport(results: readonly ScenarioResult[], meta: ReportMeta): string {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}`
  const o = meta.options
  const settings = `--duration ${o.durationS} --warmup ${o.warmupS} --connections ${o.connections}, corral at log level ${o.logLevel}`
  const data = JSON.stringify({
    command: meta.command,
    startedAt: meta.startedAt.toISOString(),
    finishedAt: meta.finishedAt.toISOString(),
    options: meta.options,
    scenarios: results,
  }).replace(/</g, '\\u003c')
  const rowsOf = results.map((result) => (result.report === undefined ? [] : scenarioRows(result.report, result.runs)))
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>corral load test</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>corral load test</h1>
<p><code>${esc(meta.command)}</code></p>
<p>${esc(meta.startedAt.toISOString())} to ${esc(meta.finishedAt.toISOString())}; ${esc(settings)}; ${esc(machine)}</p>
<p class="hint">Ratios compare setups measured one after the other in this run, on this machine: compare them, not
the absolute figures, across machines. Each second of a throughput chart counts the responses received in it; the
latency histograms count 2xx responses in logarithmic buckets (10 per power of ten), with p50 and p99 marked.</p>
</header>
<main>
<section aria-labelledby="summary-title">
<h2 id="summary-title">Summary</h2>
${table(results.flatMap((result, i) => rowsOf[i]!.map((row) => ({ scenario: result.scenario, row }))), 'summary')}
${failing(results)}
</section>
${results.map((result, i) => scenarioSection(result, rowsOf[i]!)).join('\n')}
</main>
<script type="application/json" id="loadtest-data">${data}</script>
</body>
</html>
`
}

/** The scenarios that failed or whose checks did, linked to their sections. */
function failing(results: readonly ScenarioResult[]): string {
  const bad = results.filter((r) => r.error !== undefined || Array.isArray(r.report?.problems))
  if (bad.length === 0) return ''
  const items = bad.map((r) => `<li><a href="#scenario-${slug(r.scenario)}">${esc(r.scenario)}</a>: ${r.error === undefined ? 'a check failed' : 'failed'}</li>`)
  return `<ul class="problems" data-failing="${bad.length}">${items.join('')}</ul>`
}

function scenarioSection(result: ScenarioResult, rows: readonly Row[]): string {
  const r = result.report
  const problems = [...(Array.isArray(r?.problems) ? r.problems.map(String) : []), ...(result.error === undefined ? [] : [result.error])]
  const charted = rows.filter((row) => row.run !== undefined)
  const others = result.runs.filter((run) => !charted.some((row) => row.run === run))
  const shown = [
    ...charted.map((row) => ({ run: row.run!, name: row.name.trim(), row, kind: kindOf(row) })),
    ...others.map((run) => ({ run, name: `run ${run.run}: ${[run.target, ...run.servers.filter((s) => s !== run.target)].join(' + ')} (not in the table)`, row: undefined, kind: 'other' })),
  ]
  const cards = shown.map((c) => runCard(result.scenario, c.run, c.name, c.row))
  if (shown.length > 1) cards.unshift(comparisonCard(result.scenario, shown))
  const perRound = r !== undefined && Array.isArray(r.p99MsPerRound) ? (r.p99MsPerRound as unknown[]).map(Number) : undefined
  if (cards.length === 0 && perRound !== undefined && perRound.length > 0) cards.push(roundsCard(result.scenario, perRound))
  const id = `scenario-${slug(result.scenario)}`
  return `<section class="scenario" id="${id}" data-scenario="${esc(result.scenario)}" aria-labelledby="${id}-title">
<h2 id="${id}-title">${esc(result.scenario)}</h2>
<p class="description">${esc(result.description)}</p>
${problems.length === 0 ? '' : `<ul class="problems">${problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`}
${rows.length === 0 ? '' : table(rows.map((row) => ({ scenario: result.scenario, row })), 'scenario')}
${cards.length > 0 ? `<div class="runs">${cards.join('\n')}</div>` : result.error === undefined ? '<p class="hint">No per-second figures: this scenario measured with its own client.</p>' : ''}
</section>`
}

function table(rows: ReadonlyArray<{ scenario: string; row: Row }>, kind: 'summary' | 'scenario'): string {
  const titles = columnTitles()
  const head = `<tr>${titles.map((t, i) => `<th scope="col"${i === 0 || i === titles.length - 1 ? ' class="text"' : ''}>${esc(t)}</th>`).join('')}</tr>`
  const body = rows
    .map(({ scenario, row }) => {
      const values = cells(row)
      const attrs = [
        `data-scenario="${esc(scenario)}"`,
        `data-field="${esc(row.field)}"`,
        ...(row.run === undefined ? [] : [`data-run="${row.run.run}"`]),
        ...(row.reqPerSec === undefined ? [] : [`data-req-per-sec="${row.reqPerSec}"`]),
        ...(row.p99Ms === undefined ? [] : [`data-p99-ms="${row.p99Ms}"`]),
      ].join(' ')
      const tds = values
        .map((v, i) => {
          if (i === 0) return `<th scope="row" class="text${row.nested ? ' nested' : ''}">${esc(v.trim())}</th>`
          return `<td${i === values.length - 1 ? ' class="text"' : ''}>${esc(v)}</td>`
        })
        .join('')
      return `<tr class="${row.isBaseline ? 'baseline' : row.nested ? 'nested' : 'main'}" ${attrs}>${tds}</tr>`
    })
    .join('\n')
  return `<table class="figures" data-table="${kind}"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`
}

function kindOf(row: Row | undefined): string {
  return row === undefined ? 'other' : row.isBaseline ? 'baseline' : row.nested ? 'nested' : 'main'
}

/** The latency percentiles of every run of a scenario side by side: one group per percentile, a bar per run. */
function comparisonCard(scenario: string, shown: ReadonlyArray<{ run: RunRecord; name: string; kind: string }>): string {
  const ps = [50, 90, 99, 99.9]
  const msOf = (run: RunRecord, p: number): number => run.latency.percentiles.find((q) => q.p === p)?.ms ?? 0
  const per = shown.length + 1 // a run per slot, one empty slot between groups
  const f = frame(ps.length * per, Math.max(...shown.flatMap(({ run }) => ps.map((p) => msOf(run, p)))))
  const slotW = PLOT_W / f.slots
  const bars = ps
    .flatMap((p, g) =>
      shown.map(({ run, name, kind }, i) => {
        const ms = msOf(run, p)
        const top = y(f, ms)
        return `<rect class="point ${kind}" data-percentile="${p}" data-run="${run.run}" data-ms="${ms}" x="${n(PAD.left + (g * per + i + 0.5) * slotW)}" y="${n(top)}" width="${n(slotW * 0.9)}" height="${n(PAD.top + PLOT_H - top)}"><title>${esc(`${name}: p${p} ${ms} ms`)}</title></rect>`
      }),
    )
    .join('')
  const grid = f.yTicks
    .map((v) => `<line class="grid" x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${n(y(f, v))}" y2="${n(y(f, v))}"/><text class="tick" x="${PAD.left - 4}" y="${n(y(f, v) + 3)}" text-anchor="end">${esc(compact(v))}</text>`)
    .join('')
  const labels = ps.map((p, g) => `<text class="tick" x="${n(PAD.left + (g * per + per / 2) * slotW)}" y="${PAD.top + PLOT_H + 13}" text-anchor="middle">p${p}</text>`).join('')
  const title = 'latency percentiles of every run, ms'
  const legend = shown.map(({ name, kind }) => `<li class="${kind}"><span class="swatch"></span>${esc(name)}</li>`).join('')
  return `<figure class="comparison" data-scenario="${esc(scenario)}">
<figcaption><strong>${esc(scenario)}</strong>: the runs side by side</figcaption>
<div class="charts"><svg class="chart" data-chart="percentiles" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${title}" xmlns="http://www.w3.org/2000/svg">
<title>${title}</title><text class="chart-title" x="${PAD.left}" y="14">${title}</text>${grid}${bars}
<line class="axis" x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${PAD.top + PLOT_H}" y2="${PAD.top + PLOT_H}"/>${labels}
</svg><ul class="legend">${legend}</ul></div>
</figure>`
}

function runCard(scenario: string, run: RunRecord, name: string, row: Row | undefined): string {
  const f = run.figures
  const kind = kindOf(row)
  const path = safePath(run.url)
  const facts = [
    `${fmt(f.reqPerSec)} req/s`,
    `p50 ${f.p50Ms.toFixed(2)} ms`,
    `p99 ${f.p99Ms.toFixed(2)} ms`,
    `${fmt(f.requests)} responses in ${f.durationS} s`,
    `${fmt(f.errors + f.non2xx)} errors`,
    ...(run.originHits === undefined ? [] : [`${fmt(run.originHits)} origin requests`]),
  ]
  const cpu = Object.entries(f.cpuPct)
    .map(([who, pct]) => `${who} ${pct} %`)
    .join(', ')
  const percentiles = run.latency.percentiles
    .map((p) => `<tr data-percentile="${p.p}" data-ms="${p.ms}"><th scope="row">${p.p === 100 ? 'max' : `p${p.p}`}</th><td>${p.ms.toFixed(3)}</td></tr>`)
    .join('')
  return `<figure class="run ${kind}" data-scenario="${esc(scenario)}" data-run="${run.run}" data-target="${esc(run.target)}" data-duration-s="${f.durationS}" data-requests="${f.requests}" data-req-per-sec="${f.reqPerSec}">
<figcaption><strong>${esc(name)}</strong> <span class="target">${esc(run.method)} ${esc(run.target)}${esc(path)}</span><br>${esc(facts.join(' · '))}${cpu === '' ? '' : `<br><span class="cpu">CPU (% of a core): ${esc(cpu)}</span>`}</figcaption>
<div class="charts">
${throughputChart(run)}
${latencyChart(run)}
<table class="percentiles" aria-label="latency percentiles, ms"><thead><tr><th scope="col">2xx</th><th scope="col">ms</th></tr></thead><tbody>${percentiles}</tbody></table>
</div>
</figure>`
}

/** fleet-stampede measures crowds, not seconds: its p99 per round is what it has. */
function roundsCard(scenario: string, p99PerRound: readonly number[]): string {
  const plot = frame(p99PerRound.length, Math.max(...p99PerRound, 0))
  const bars = p99PerRound.map((ms, i) => ({ value: ms, attrs: { 'data-round': i + 1, 'data-value': ms }, title: `round ${i + 1}: p99 ${ms} ms` }))
  const svg = barChart('rounds', `p99 of each round, ms`, plot, bars, everyNth(p99PerRound.length).map((i) => ({ at: i + 0.5, text: String(i + 1) })), 'round')
  return `<figure class="run main" data-scenario="${esc(scenario)}"><figcaption><strong>${esc(scenario)}</strong>: p99 latency of each measured round</figcaption><div class="charts">${svg}</div></figure>`
}

// ---------------------------------------------------------------- charts

const W = 420
const H = 190
const PAD = { left: 52, right: 12, top: 22, bottom: 34 }
const PLOT_W = W - PAD.left - PAD.right
const PLOT_H = H - PAD.top - PAD.bottom

interface Frame {
  readonly slots: number
  readonly yMax: number
  readonly yTicks: readonly number[]
}

function frame(slots: number, max: number): Frame {
  const step = niceStep(max > 0 ? max / 4 : 1)
  const yMax = Math.max(step, Math.ceil(max / step) * step)
  const yTicks: number[] = []
  for (let v = 0; v <= yMax + step / 2; v += step) yTicks.push(v)
  return { slots: Math.max(1, slots), yMax, yTicks }
}

interface Bar {
  readonly value: number
  readonly attrs: Readonly<Record<string, string | number>>
  readonly title: string
  readonly className?: string
}

const y = (f: Frame, v: number): number => PAD.top + PLOT_H - (v / f.yMax) * PLOT_H

/** Bars in equal slots, a y axis with round ticks, labels under some slots; `extra`: more SVG on top. */
function barChart(chart: string, title: string, f: Frame, bars: readonly Bar[], xLabels: ReadonlyArray<{ at: number; text: string }>, xTitle: string, extra = ''): string {
  const slotW = PLOT_W / f.slots
  const gap = Math.min(2, slotW * 0.15)
  const grid = f.yTicks
    .map((v) => `<line class="grid" x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${n(y(f, v))}" y2="${n(y(f, v))}"/><text class="tick" x="${PAD.left - 4}" y="${n(y(f, v) + 3)}" text-anchor="end">${esc(compact(v))}</text>`)
    .join('')
  const rects = bars
    .map((b, i) => {
      const top = y(f, b.value)
      const attrs = Object.entries(b.attrs)
        .map(([k, v]) => `${k}="${esc(String(v))}"`)
        .join(' ')
      return `<rect class="point${b.className === undefined ? '' : ` ${b.className}`}" ${attrs} x="${n(PAD.left + i * slotW + gap / 2)}" y="${n(top)}" width="${n(Math.max(0.5, slotW - gap))}" height="${n(PAD.top + PLOT_H - top)}"><title>${esc(b.title)}</title></rect>`
    })
    .join('')
  const labels = xLabels.map((l) => `<text class="tick" x="${n(PAD.left + l.at * slotW)}" y="${PAD.top + PLOT_H + 13}" text-anchor="middle">${esc(l.text)}</text>`).join('')
  return `<svg class="chart" data-chart="${chart}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">
<title>${esc(title)}</title>
<text class="chart-title" x="${PAD.left}" y="14">${esc(title)}</text>${grid}${rects}
<line class="axis" x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${PAD.top + PLOT_H}" y2="${PAD.top + PLOT_H}"/>${labels}
<text class="axis-title" x="${PAD.left + PLOT_W / 2}" y="${H - 4}" text-anchor="middle">${esc(xTitle)}</text>${extra}
</svg>`
}

/** Responses per second of the run, the run's mean as a dashed line, seconds with errors in red. */
function throughputChart(run: RunRecord): string {
  const f = frame(run.perSecond.length, Math.max(...run.perSecond, run.figures.reqPerSec))
  const bars = run.perSecond.map((count, i) => {
    const errors = run.errorsPerSecond[i] ?? 0
    return {
      value: count,
      attrs: { 'data-second': i + 1, 'data-value': count, 'data-errors': errors },
      title: `second ${i + 1}: ${fmt(count)} responses${errors > 0 ? `, ${fmt(errors)} errors` : ''}`,
      ...(errors > 0 ? { className: 'has-errors' } : {}),
    }
  })
  const mean = y(f, run.figures.reqPerSec)
  const extra = `<line class="mean" data-value="${run.figures.reqPerSec}" x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${n(mean)}" y2="${n(mean)}"><title>mean ${fmt(run.figures.reqPerSec)} req/s</title></line>`
  const labels = everyNth(run.perSecond.length).map((i) => ({ at: i + 0.5, text: String(i + 1) }))
  return barChart('throughput', `throughput, responses per second (mean ${compact(run.figures.reqPerSec)})`, f, bars, labels, 'second of the run', extra)
}

/** 2xx latencies in logarithmic buckets, on a logarithmic ms axis, p50 and p99 marked. */
function latencyChart(run: RunRecord): string {
  const h = run.latency.histogram
  if (h.length === 0) return `<p class="hint" data-chart="latency" data-empty="true">No 2xx response: no latency to chart.</p>`
  const f = frame(h.length, Math.max(...h.map((b) => b.count)))
  const bars = h.map((b) => ({
    value: b.count,
    attrs: { 'data-from-ms': b.fromMs, 'data-to-ms': b.toMs, 'data-count': b.count },
    title: `${b.fromMs}–${b.toMs} ms: ${fmt(b.count)} responses`,
  }))
  const lo = Math.log10(h[0]!.fromMs)
  const hi = Math.log10(h.at(-1)!.toMs)
  const slotsAt = (ms: number): number => ((Math.log10(ms) - lo) / (hi - lo)) * h.length
  const labels = decadeTicks(h[0]!.fromMs, h.at(-1)!.toMs).map((ms) => ({ at: slotsAt(ms), text: `${ms}` }))
  const markers = run.latency.percentiles
    .filter((p) => p.p === 50 || p.p === 99)
    .map((p) => {
      const x = PAD.left + (slotsAt(Math.max(p.ms, h[0]!.fromMs)) / h.length) * PLOT_W
      return `<g class="marker" data-percentile="${p.p}" data-ms="${p.ms}"><line x1="${n(x)}" x2="${n(x)}" y1="${PAD.top}" y2="${PAD.top + PLOT_H}"/><text x="${n(x + 2)}" y="${PAD.top + 8}">p${p.p}</text><title>p${p.p}: ${p.ms} ms</title></g>`
    })
    .join('')
  return barChart('latency', `latency of ${fmt(run.latency.count)} 2xx responses, count per bucket`, f, bars, labels, 'latency, ms (log scale)', markers)
}

/** 1-2-5 values between lo and hi (ms), for a log axis. */
function decadeTicks(lo: number, hi: number): number[] {
  const ticks: number[] = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** e).toPrecision(3))
      if (v >= lo && v <= hi) ticks.push(v)
    }
  }
  // Keep it readable: at most about 8 labels.
  return ticks.length > 8 ? ticks.filter((v) => /^1(0*|\.0*)$|^0\.0*1$/.test(String(v))) : ticks
}

/** Indices of the slots to label: all up to 15, fewer beyond. */
function everyNth(count: number): number[] {
  const every = count <= 15 ? 1 : Math.ceil(count / 10)
  return Array.from({ length: count }, (_, i) => i).filter((i) => i % every === 0 || i === count - 1)
}

function niceStep(raw: number): number {
  const e = 10 ** Math.floor(Math.log10(raw))
  const m = raw / e
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e
}

// ---------------------------------------------------------------- text

function fmt(v: number): string {
  return Math.round(v).toLocaleString('en-US')
}

function compact(v: number): string {
  return new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(v)
}

/** An SVG coordinate: 1 decimal. */
function n(v: number): string {
  return String(Math.round(v * 10) / 10)
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-')
}

/** The path of a run's URL (the host is a free port of this run, of no interest). */
function safePath(url: string): string {
  try {
    return new URL(url).pathname
  } catch {
    return ''
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6474; --bg: #fff; --card: #f6f7f9; --line: #d5d9e0;
  --main: #2f6fdf; --baseline: #8a94a6; --nested: #1f9d8b; --other: #b07cd8; --bad: #d33; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #9aa3b2; --bg: #14171c; --card: #1d2128; --line: #343a45; } }
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 1400px; }
h1 { margin: .2rem 0; } h2 { margin: 2rem 0 .4rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
code { font: 13px ui-monospace, monospace; }
.hint, .description, figcaption .target, .cpu { color: var(--muted); }
table.figures { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: .5rem 0 1rem; }
table.figures th, table.figures td { padding: .2rem .6rem; text-align: right; border-bottom: 1px solid var(--line); white-space: nowrap; }
table.figures .text { text-align: left; white-space: normal; }
table.figures th.nested { padding-left: 1.6rem; font-weight: normal; }
table.figures tr.main th { font-weight: 600; }
.problems { color: var(--bad); font-weight: 600; }
.runs { display: flex; flex-direction: column; gap: 1rem; }
figure.run { margin: 0; background: var(--card); border-left: 4px solid var(--main); border-radius: 4px; padding: .6rem .8rem; }
figure.run.baseline { border-left-color: var(--baseline); } figure.run.nested { border-left-color: var(--nested); } figure.run.other { border-left-color: var(--other); }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; margin-top: .4rem; }
svg.chart { max-width: 100%; height: auto; overflow: visible; }
svg .point { fill: var(--main); } figure.baseline svg .point { fill: var(--baseline); } figure.nested svg .point { fill: var(--nested); } figure.other svg .point { fill: var(--other); }
svg .point.has-errors { fill: var(--bad); }
figure.comparison { margin: 0; } svg .point.main { fill: var(--main); } svg .point.baseline { fill: var(--baseline); }
svg .point.nested { fill: var(--nested); } svg .point.other { fill: var(--other); }
ul.legend { list-style: none; padding: 0; margin: .4rem 0; } ul.legend li { margin: .15rem 0; }
.swatch { display: inline-block; width: .8em; height: .8em; margin-right: .4em; vertical-align: -.05em; background: var(--main); }
li.baseline .swatch { background: var(--baseline); } li.nested .swatch { background: var(--nested); } li.other .swatch { background: var(--other); }
svg .grid { stroke: var(--line); stroke-width: 1; } svg .axis { stroke: var(--muted); }
svg text { fill: var(--muted); font: 10px system-ui, sans-serif; } svg .chart-title { fill: var(--fg); font-size: 11px; font-weight: 600; }
svg .mean { stroke: var(--fg); stroke-dasharray: 4 3; stroke-width: 1; }
svg .marker line { stroke: var(--bad); stroke-width: 1.2; } svg .marker text { fill: var(--bad); font-weight: 600; }
table.percentiles { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 13px; }
table.percentiles th, table.percentiles td { padding: .1rem .5rem; text-align: right; border-bottom: 1px solid var(--line); }
`
