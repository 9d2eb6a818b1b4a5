/**
 * The runner's default output: a short table a person reads at a glance, one row per scenario
 * (and one per setup it was compared with), written as each scenario finishes. Everything else
 * a scenario measured is in its JSON line (`--json`).
 */
import type { Report } from './lib.js'

interface Row {
  readonly name: string
  readonly reqPerSec?: number
  readonly p50Ms?: number
  readonly p99Ms?: number
  readonly errors?: number
  /** Counted with errors in the table. */
  readonly non2xx?: number
  readonly originHits?: number
  /** The ratio to the baseline, in words. */
  readonly versus?: string
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

export function tableHeader(): string {
  return line(COLUMNS.map((c) => c.title))
}

/** The rows of one scenario's report, then its problems, if any. */
export function tableRows(r: Report): string {
  const rows: Row[] = [{ ...figures(r), name: r.scenario, originHits: r.originHits, versus: versusBaseline(r) }]
  const baseline = record(r.baseline)
  const redis = record(r.redis)
  const l1On = record(r.l1On)
  const floor = record(r.floor)
  const bareProxy = record(r.bareProxy)
  if (redis !== undefined) {
    rows.push({ ...figures(redis), name: '  with --redis (L1 on)', versus: pair(r.ratioRedisToMemory, r.ratioRedisP99, 'corral from memory') })
  }
  if (l1On !== undefined) rows.push({ ...figures(l1On), name: '  L1 on', versus: `L1 off: ${times(r.ratioReqPerSec)} its req/s, ${times(r.ratioP99)} its p99` })
  if (baseline !== undefined) rows.push({ ...figures(baseline), name: `  baseline: ${text(baseline.scenario) || 'direct'}` })
  if (floor !== undefined) rows.push({ ...figures(floor), name: '  baseline: bare Redis GET' })
  if (bareProxy !== undefined) rows.push({ ...figures(bareProxy), name: '  bare http-proxy-3', versus: `corral: ${times(r.ratioToBareProxy)} its req/s` })
  const problems = Array.isArray(r.problems) ? r.problems.map((p) => `  ! ${String(p)}`) : []
  return [...rows.map(format), ...problems].join('\n')
}

/** What the scenario's main row is compared with, and how. */
function versusBaseline(r: Report): string {
  if (r.ratioToFloorReqPerSec !== undefined) return pair(r.ratioToFloorReqPerSec, r.ratioToFloorP99, 'bare Redis GET')
  const baseline = record(r.baseline)
  const of = text(baseline?.scenario) || 'baseline'
  // fleet-stampede: crowds waiting on the origin, so req/s says nothing; latency does.
  if (r.scenario === 'fleet-stampede') return `${times(r.ratioP99)} p99 of the origin alone; ${describeRounds(r)}`
  if (r.ratioReqPerSec !== undefined) return pair(r.ratioReqPerSec, r.ratioP99, of)
  if (typeof r.originHitsPerSec === 'number') return `no baseline; ${r.originHitsPerSec} origin reqs/s`
  return ''
}

function describeRounds(r: Report): string {
  const perRound = Array.isArray(r.originRequestsPerRound) ? (r.originRequestsPerRound as unknown[]).map(Number) : []
  return perRound.every((n) => n === 1) ? `1 origin req in each of ${perRound.length} rounds` : `origin reqs per round: ${perRound.join(',')}`
}

function figures(r: Readonly<Record<string, unknown>>): Omit<Row, 'name'> {
  return {
    reqPerSec: number(r.reqPerSec),
    p50Ms: number(r.p50Ms),
    p99Ms: number(r.p99Ms),
    errors: number(r.errors),
    non2xx: number(r.non2xx),
    originHits: number(r.originHits),
  }
}

function format(row: Row): string {
  // Both are failed requests to a reader; the JSON line keeps them apart.
  const errors = row.errors === undefined ? '' : String(row.errors + (row.non2xx ?? 0))
  return line([
    row.name,
    row.reqPerSec === undefined ? '' : Math.round(row.reqPerSec).toLocaleString('en-US'),
    row.p50Ms === undefined ? '' : row.p50Ms.toFixed(2),
    row.p99Ms === undefined ? '' : row.p99Ms.toFixed(2),
    errors,
    row.originHits === undefined ? '' : row.originHits.toLocaleString('en-US'),
    row.versus ?? '',
  ])
}

function line(cells: readonly string[]): string {
  return COLUMNS.map((c, i) => {
    const cell = cells[i] ?? ''
    return c.left ? cell.padEnd(c.width) : cell.padStart(c.width)
  })
    .join('  ')
    .trimEnd()
}

/** `0.85× req/s, 1.12× p99 of direct` */
function pair(reqPerSec: unknown, p99: unknown, of: string): string {
  return `${times(reqPerSec)} req/s, ${times(p99)} p99 of ${of}`
}

function times(ratio: unknown): string {
  return typeof ratio === 'number' ? `${ratio.toFixed(2)}×` : '?×'
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}
