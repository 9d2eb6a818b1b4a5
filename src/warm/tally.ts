/**
 * What a warm run did, counted as it goes (for the progress line) and summed up at the end, as
 * text for people or JSON for scripts.
 */

/** How many failing URLs the summary names (all are counted). */
export const FAILURES_KEPT = 10
const FAILURES_SHOWN = 5
/** The X-Cache-Status label of a response without one (the target is not corral?). */
export const NO_CACHE_STATUS = 'none'
/** The order cache statuses are shown in; others follow alphabetically. */
const CACHE_ORDER = ['MISS', 'HIT', 'EXPIRED', 'REVALIDATED', 'STALE', 'UPDATING', 'BYPASS']

export interface Failure {
  readonly url: string
  readonly reason: string
}

export interface WarmSummary {
  readonly target: string
  readonly method: string
  /** URLs read (lines that were not URLs included) */
  readonly total: number
  /** URLs tried (all of them unless interrupted) */
  readonly done: number
  /** URLs that got a response */
  readonly responses: number
  /** URLs with a 5xx, a network error, a timeout, or a line that is not a URL */
  readonly failed: number
  /** by X-Cache-Status; "none" when the response had no such field */
  readonly cacheStatus: Record<string, number>
  /** by HTTP status class: "2xx", "3xx"… */
  readonly statusClass: Record<string, number>
  /** failures by reason ("HTTP 503", "timed out after 30s"…) */
  readonly failureReasons: Record<string, number>
  /** the first failing URLs, with why */
  readonly failures: Failure[]
  /** body bytes read */
  readonly bytes: number
  readonly durationMs: number
  /** URLs per second over the run */
  readonly rate: number
  /** stopped by a signal before every URL was tried */
  readonly interrupted: boolean
  readonly ok: boolean
}

export class Tally {
  /** URLs read so far; `totalKnown` once every source has been read */
  read = 0
  totalKnown = false
  done = 0
  responses = 0
  failed = 0
  bytes = 0
  readonly cacheStatus = new Map<string, number>()
  readonly statusClass = new Map<string, number>()
  readonly failureReasons = new Map<string, number>()
  readonly failures: Failure[] = []
  readonly startedAt = performance.now()
  endedAt: number | undefined

  response(status: number, cacheStatus: string | undefined, bytes: number, url: string): void {
    this.done++
    this.responses++
    this.bytes += bytes
    bump(this.cacheStatus, cacheStatus ?? NO_CACHE_STATUS)
    bump(this.statusClass, `${Math.floor(status / 100)}xx`)
    if (status >= 500) this.failure(url, `HTTP ${status}`)
  }

  error(url: string, reason: string): void {
    this.done++
    this.failure(url, reason)
  }

  get elapsedMs(): number {
    return (this.endedAt ?? performance.now()) - this.startedAt
  }

  /** URLs finished per second so far */
  get rate(): number {
    const s = this.elapsedMs / 1000
    return s > 0 ? this.done / s : 0
  }

  summary(target: string, method: string, interrupted: boolean): WarmSummary {
    const durationMs = Math.round(this.elapsedMs)
    return {
      target,
      method,
      total: this.read,
      done: this.done,
      responses: this.responses,
      failed: this.failed,
      cacheStatus: ordered(this.cacheStatus, CACHE_ORDER),
      statusClass: ordered(this.statusClass, []),
      failureReasons: Object.fromEntries([...this.failureReasons].sort((a, b) => b[1] - a[1])),
      failures: [...this.failures],
      bytes: this.bytes,
      durationMs,
      rate: Math.round(this.rate * 10) / 10,
      interrupted,
      ok: this.failed === 0 && !interrupted,
    }
  }

  private failure(url: string, reason: string): void {
    this.failed++
    bump(this.failureReasons, reason)
    if (this.failures.length < FAILURES_KEPT) this.failures.push({ url, reason })
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}

/** The entries of a count map, the known names first in their order, then the rest sorted. */
export function ordered(map: ReadonlyMap<string, number>, first: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const name of first) {
    const n = map.get(name)
    if (n !== undefined) out[name] = n
  }
  for (const name of [...map.keys()].filter((k) => !first.includes(k)).sort()) out[name] = map.get(name) ?? 0
  return out
}

export function cacheCounts(map: ReadonlyMap<string, number>): Record<string, number> {
  return ordered(map, CACHE_ORDER)
}

/** The summary for people: a few aligned lines. */
export function formatSummary(s: WarmSummary): string {
  const lines: string[] = []
  const head = s.interrupted ? `interrupted after ${s.done} of ${s.total} URLs` : `${s.total} URL${s.total === 1 ? '' : 's'}`
  lines.push(`corral warm: ${head} in ${formatSeconds(s.durationMs)} (${formatRate(s.rate)}) through ${s.target}`)
  lines.push(`  cache:   ${counts(s.cacheStatus) || '-'}`)
  lines.push(`  status:  ${counts(s.statusClass) || '-'}`)
  lines.push(`  bytes:   ${formatBytes(s.bytes)}${s.method === 'HEAD' ? ' (HEAD: no bodies)' : ''}`)
  lines.push(`  failed:  ${s.failed}${s.failed > 0 ? `  (${counts(s.failureReasons, ' × ')})` : ''}`)
  for (const f of s.failures.slice(0, FAILURES_SHOWN)) lines.push(`    ${f.url}  ${f.reason}`)
  if (s.failed > FAILURES_SHOWN) lines.push(`    … and ${s.failed - FAILURES_SHOWN} more`)
  const none = s.cacheStatus[NO_CACHE_STATUS] ?? 0
  if (s.responses > 0 && none === s.responses) lines.push(`  note: no response had X-Cache-Status: is ${s.target} a corral?`)
  return `${lines.join('\n')}\n`
}

function counts(record: Record<string, number>, sep = ' '): string {
  return Object.entries(record)
    .map(([name, n]) => (sep === ' ' ? `${name} ${n}` : `${n}${sep}${name}`))
    .join(sep === ' ' ? '  ' : ', ')
}

export function formatSeconds(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`
  const m = Math.floor(ms / 60_000)
  const sec = Math.round((ms % 60_000) / 1000)
  return m < 60 ? `${m}m${String(sec).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

export function formatRate(perSecond: number): string {
  return `${perSecond >= 100 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let n = bytes / 1024
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(1)} ${units[i]}`
}
