/**
 * The runner's default output: a short table a person reads at a glance, one row per scenario
 * (and one per setup it was compared with in the same run), written as each scenario finishes.
 * Everything else a scenario measured is in its JSON line (`--json`). The HTML report
 * (report.ts) shows the same rows, from scenarioRows.
 *
 * Every row has the same columns: req/s, p50, p99, errors (+ non-2xx), the origin's requests
 * during the run, and its ratios to the scenario's baseline of the same run. The rows after the
 * scenario's own come from its report's nested setups (see Report in lib.ts): any field holding an
 * object with `reqPerSec` or `p99Ms`, so a new scenario's comparisons show up without a change here.
 * A figure a scenario left out of a nested setup is taken from the run measure() recorded for it
 * (same req/s and p99), when there is one.
 */
import type { Report, RunRecord } from './lib.js'

export interface Row {
  readonly name: string
  /** `scenario` for the scenario's own row, else the report field it comes from (`baseline`, `redis`, …). */
  readonly field: string
  /** Indented: a setup the scenario was compared with. */
  readonly nested: boolean
  /** This row is the baseline the ratios divide by. */
  readonly isBaseline: boolean
  readonly reqPerSec?: number
  readonly p50Ms?: number
  readonly p99Ms?: number
  readonly errors?: number
  /** Counted with errors in the table. */
  readonly non2xx?: number
  readonly originHits?: number
  /** req/s and p99 ÷ the baseline's. */
  readonly ratioReqPerSec?: number
  readonly ratioP99?: number
  /** The ratio to the baseline (and any note), in words. */
  readonly versus: string
  /** The recorded run of this row (same req/s and p99), for the charts. */
  readonly run?: RunRecord
}

const COLUMNS: ReadonlyArray<{ readonly title: string; readonly width: number; readonly left?: boolean }> = [
  { title: 'scenario', width: 26, left: true },
  { title: 'req/s', width: 9 },
  { title: 'p50 ms', width: 8 },
  { title: 'p99 ms', width: 8 },
  { title: 'errors', width: 6 },
  { title: 'origin reqs', width: 12 },
  { title: 'vs baseline', width: 0, left: true },
]

/** Names of the nested setups the scenarios report (others: their `label`, or the field in words). */
const LABELS: Readonly<Record<string, string>> = {
  redis: 'with --redis (L1 on)',
  l1On: 'L1 on',
  floor: 'baseline: bare Redis GET',
  bareProxy: 'bare http-proxy-3',
  bareUndici: 'bare undici hop',
}

/** What some nested setups add after their ratios: the scenario's own comparison with them. */
const NOTES: Readonly<Record<string, (r: Report) => string>> = {
  redis: (r) => `corral from memory: ${times(r.ratioRedisToMemory)} (2 rounds)`,
  l1On: (r) => `L1 off: ${times(r.ratioReqPerSec)} its req/s`,
  bareProxy: (r) => `corral: ${times(r.ratioToBareProxy)} its req/s`,
  bareUndici: (r) => `corral: ${times(r.ratioToBareUndici)} its req/s`,
}

/** The fields whose setup is the baseline, in order of preference. */
const BASELINE_FIELDS = ['baseline', 'floor'] as const

export function tableHeader(): string {
  return line(COLUMNS.map((c) => c.title))
}

/** The rows of one scenario's report, then its problems, if any. `runs`: what measure() recorded meanwhile. */
export function tableRows(r: Report, runs: readonly RunRecord[] = []): string {
  const problems = Array.isArray(r.problems) ? r.problems.map((p) => `  ! ${String(p)}`) : []
  return [...scenarioRows(r, runs).map(format), ...problems].join('\n')
}

/**
 * The scenario's row, then one per setup it was compared with (in the report's order), the
 * baseline last. Each is matched with the recorded run that has its req/s and p99.
 */
export function scenarioRows(r: Report, runs: readonly RunRecord[] = []): Row[] {
  const baselineField = BASELINE_FIELDS.find((f) => figuresRecord(r[f]) !== undefined)
  const baseline = baselineField === undefined ? undefined : figuresRecord(r[baselineField])
  const unmatched = [...runs]
  const runOf = (fig: Readonly<Record<string, unknown>>): RunRecord | undefined => {
    const i = unmatched.findIndex((run) => run.figures.reqPerSec === fig.reqPerSec && run.figures.p99Ms === fig.p99Ms)
    return i === -1 ? undefined : unmatched.splice(i, 1)[0]
  }
  const rowOf = (field: string, name: string, fig: Readonly<Record<string, unknown>>, versus: (row: Row) => string): Row => {
    const run = runOf(fig)
    const row: Row = {
      name,
      field,
      nested: field !== 'scenario',
      isBaseline: field === baselineField,
      reqPerSec: number(fig.reqPerSec) ?? run?.figures.reqPerSec,
      p50Ms: number(fig.p50Ms) ?? run?.figures.p50Ms,
      p99Ms: number(fig.p99Ms) ?? run?.figures.p99Ms,
      errors: number(fig.errors) ?? run?.figures.errors,
      non2xx: number(fig.non2xx) ?? run?.figures.non2xx,
      originHits: number(fig.originHits) ?? run?.originHits,
      versus: '',
      ...(run === undefined ? {} : { run }),
    }
    const withRatios: Row = {
      ...row,
      ...(baseline === undefined || row.isBaseline
        ? {}
        : { ratioReqPerSec: ratio(row.reqPerSec, number(baseline.reqPerSec)), ratioP99: ratio(row.p99Ms, number(baseline.p99Ms)) }),
    }
    return { ...withRatios, versus: versus(withRatios) }
  }

  const baselineName = baselineField === 'floor' ? 'bare Redis GET' : text(baseline?.scenario) || 'baseline'
  const rows: Row[] = [rowOf('scenario', r.scenario, r, (row) => versusBaseline(r, row, baselineName))]
  for (const [field, value] of Object.entries(r)) {
    const fig = figuresRecord(value)
    if (fig === undefined || field === baselineField) continue
    const note = text(fig.note) || (NOTES[field]?.(r) ?? '')
    const name = `  ${text(fig.label) || LABELS[field] || words(field)}`
    rows.push(rowOf(field, name, fig, (row) => [ratios(row), note].filter((s) => s !== '').join('; ')))
  }
  if (baseline !== undefined && baselineField !== undefined) {
    const name = `  ${LABELS[baselineField] ?? `baseline: ${text(baseline.scenario) || 'direct'}`}`
    rows.push(rowOf(baselineField, name, baseline, () => ''))
  }
  return rows
}

/** What the scenario's own row is compared with, and how. */
function versusBaseline(r: Report, row: Row, baselineName: string): string {
  // fleet-stampede: crowds waiting on the origin, so req/s says nothing; latency does.
  if (r.scenario === 'fleet-stampede') return `${times(row.ratioP99)} p99 of the origin alone; ${describeRounds(r)}`
  if (row.ratioReqPerSec !== undefined || row.ratioP99 !== undefined) return `${ratios(row)} of ${baselineName}`
  if (typeof r.originHitsPerSec === 'number') return `no baseline; ${r.originHitsPerSec} origin reqs/s`
  return ''
}

function describeRounds(r: Report): string {
  const perRound = Array.isArray(r.originRequestsPerRound) ? (r.originRequestsPerRound as unknown[]).map(Number) : []
  return perRound.every((n) => n === 1) ? `1 origin req in each of ${perRound.length} rounds` : `origin reqs per round: ${perRound.join(',')}`
}

/** `0.85× req/s, 1.12× p99`; '' without a baseline. */
function ratios(row: Row): string {
  if (row.ratioReqPerSec === undefined && row.ratioP99 === undefined) return ''
  return `${times(row.ratioReqPerSec)} req/s, ${times(row.ratioP99)} p99`
}

function format(row: Row): string {
  return line(cells(row))
}

/** A row's cells, as the table prints them (the HTML report shows the same). */
export function cells(row: Row): string[] {
  // Both are failed requests to a reader; the JSON line keeps them apart.
  const errors = row.errors === undefined ? '' : String(row.errors + (row.non2xx ?? 0))
  return [
    row.name,
    row.reqPerSec === undefined ? '' : Math.round(row.reqPerSec).toLocaleString('en-US'),
    row.p50Ms === undefined ? '' : row.p50Ms.toFixed(2),
    row.p99Ms === undefined ? '' : row.p99Ms.toFixed(2),
    errors,
    row.originHits === undefined ? '' : row.originHits.toLocaleString('en-US'),
    row.versus,
  ]
}

/** The column titles, as the table prints them. */
export function columnTitles(): string[] {
  return COLUMNS.map((c) => c.title)
}

function line(values: readonly string[]): string {
  return COLUMNS.map((c, i) => {
    const cell = values[i] ?? ''
    return c.left ? cell.padEnd(c.width) : cell.padStart(c.width)
  })
    .join('  ')
    .trimEnd()
}

function times(value: unknown): string {
  return typeof value === 'number' ? `${value.toFixed(2)}×` : '?×'
}

/** a ÷ b to 3 decimals; undefined when either is missing or b is 0. */
function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0) return undefined
  return Math.round((a / b) * 1000) / 1000
}

/** `bareUndici` → `bare undici` */
function words(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

/** The figures of a setup: an object with reqPerSec or p99Ms. */
function figuresRecord(value: unknown): Readonly<Record<string, unknown>> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const record = value as Record<string, unknown>
  return number(record.reqPerSec) !== undefined || number(record.p99Ms) !== undefined ? record : undefined
}
