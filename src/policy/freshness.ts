/**
 * Freshness and age (RFC 9111 §4.2): how long a response stays fresh for a shared cache, how old
 * it already is, and how long it may be served stale. Pure: every time is a parameter (ms).
 */
import type { RouteCache } from '../config/types.js'
import { parseDeltaSeconds } from './cache-control.js'
import type { Freshness, HeaderMap, ResponseDirectives } from './types.js'

// ---------------------------------------------------------------------------------------------
// HTTP-date (RFC 9110 §5.6.7). Date.parse is not usable: it accepts '0' (→ year 2000) and most
// garbage. Recipients MUST accept the three formats below; names and GMT are matched
// case-insensitively to be lenient about case only.
// ---------------------------------------------------------------------------------------------

const MONTHS: ReadonlyMap<string, number> = new Map(
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].map((m, i) => [m, i]),
)
// Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = /^(?:mon|tue|wed|thu|fri|sat|sun), (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i
// Sunday, 06-Nov-94 08:49:37 GMT
const RFC850_DATE =
  /^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday), (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i
// Sun Nov  6 08:49:37 1994
const ASCTIME_DATE = /^(?:mon|tue|wed|thu|fri|sat|sun) ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i

/**
 * Parses an HTTP-date to ms since the epoch; undefined when invalid. A repeated field (array) is
 * valid only if every line is identical (Date, Expires, Last-Modified are singletons).
 * `referenceMs` resolves rfc850's two-digit years (RFC 9110 §5.6.7: a year more than 50 years in
 * the future is the most recent past year with those digits); without it, 70–99 → 19xx, else 20xx.
 */
export function parseHttpDate(value: string | readonly string[] | undefined, referenceMs?: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') {
    const first = value[0]
    if (first === undefined) return undefined
    for (let i = 1; i < value.length; i++) if (value[i] !== first) return undefined
    return parseHttpDate(first, referenceMs)
  }
  const s = value.trim()
  let m = IMF_FIXDATE.exec(s)
  if (m !== null) return utc(m[3], m[2], m[1], m[4], m[5], m[6])
  m = RFC850_DATE.exec(s)
  if (m !== null) return utc(twoDigitYear(Number(m[3]), referenceMs), m[2], m[1], m[4], m[5], m[6])
  m = ASCTIME_DATE.exec(s)
  if (m !== null) return utc(m[6], m[1], m[2], m[3], m[4], m[5])
  return undefined
}

function twoDigitYear(yy: number, referenceMs: number | undefined): number {
  if (referenceMs === undefined) return yy < 70 ? 2000 + yy : 1900 + yy
  const refYear = new Date(referenceMs).getUTCFullYear()
  let year = refYear - (refYear % 100) + yy
  if (year > refYear + 50) year -= 100
  return year
}

function utc(
  year: string | number | undefined,
  month: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): number | undefined {
  const mon = MONTHS.get((month ?? '').toLowerCase())
  const y = Number(year)
  const d = Number((day ?? '').trim())
  const h = Number(hour)
  const mi = Number(minute)
  const sec = Number(second)
  if (mon === undefined || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return undefined
  const ms = Date.UTC(y, mon, d, h, mi, Math.min(sec, 59))
  // Reject 31 Feb and the like instead of rolling over into the next month.
  if (new Date(ms).getUTCDate() !== d) return undefined
  return ms
}

// ---------------------------------------------------------------------------------------------
// Age (RFC 9111 §4.2.3)
// ---------------------------------------------------------------------------------------------

/**
 * The Age field as seconds; undefined when absent or invalid. Age is a singleton, but RFC 9111
 * §5.1 says what to do with a list (`Age: 0, 7200`, or two Age lines, which combine into one
 * list, RFC 9110 §5.3): "use the first member of the field value, discarding subsequent ones";
 * and if that member is not delta-seconds, "ignore the field". Empty list members are skipped
 * (RFC 9110 §5.6.1).
 */
export function parseAge(value: string | readonly string[] | undefined): number | undefined {
  if (value === undefined) return undefined
  for (const line of typeof value === 'string' ? [value] : value) {
    for (const member of line.split(',')) {
      const trimmed = member.trim()
      if (trimmed !== '') return parseDeltaSeconds(trimmed)
    }
  }
  return undefined
}

/**
 * corrected_initial_age of RFC 9111 §4.2.3, in ms:
 *   apparent_age        = max(0, response_time - date_value)   (0 when Date is missing or invalid)
 *   response_delay      = response_time - request_time
 *   corrected_age_value = age_value + response_delay          (age_value 0 when Age is absent/invalid)
 *   corrected_initial_age = max(apparent_age, corrected_age_value)
 */
export function correctedInitialAgeMs(a: {
  readonly requestTime: number
  readonly responseTime: number
  readonly date?: string | readonly string[] | undefined
  readonly age?: string | readonly string[] | undefined
}): number {
  const dateMs = parseHttpDate(a.date, a.responseTime)
  const apparentAgeMs = dateMs === undefined ? 0 : Math.max(0, a.responseTime - dateMs)
  const responseDelayMs = Math.max(0, a.responseTime - a.requestTime)
  const correctedAgeValueMs = (parseAge(a.age) ?? 0) * 1000 + responseDelayMs
  return Math.max(apparentAgeMs, correctedAgeValueMs)
}

/** RFC 9111 §4.2.3: current_age = corrected_initial_age + resident_time. */
export function currentAgeMs(initialAgeMs: number, responseTime: number, now: number): number {
  const residentMs = now - responseTime
  return residentMs > 0 ? initialAgeMs + residentMs : initialAgeMs
}

// ---------------------------------------------------------------------------------------------
// Freshness lifetime (RFC 9111 §4.2.1), shared cache
// ---------------------------------------------------------------------------------------------

/**
 * The origin's explicit freshness lifetime for a shared cache: `s-maxage`, else `max-age`, else
 * `Expires - Date` (RFC 9111 §4.2.1). Undefined only when the origin gave none of them.
 * - `conflicting` (duplicate or invalid max-age / s-maxage): lifetime 0, i.e. stale (§4.2.1).
 * - Invalid Expires (`0`, garbage, differing repeated lines): lifetime 0 (§5.3: "a cache
 *   recipient MUST interpret invalid date formats, especially the value "0", as representing a
 *   time in the past").
 * - Missing or invalid Date: the time the response was received stands in for it (§4.2.1: Expires
 *   minus Date, "using the time the message was received if it is not present").
 */
export function originFreshness(
  d: ResponseDirectives,
  headers: HeaderMap,
  responseTime: number,
): Freshness | undefined {
  if (d.conflicting) return { lifetimeMs: 0, source: 'origin' }
  // RFC 9111 §5.2.2.10: s-maxage overrides max-age and Expires for a shared cache.
  if (d.sMaxage !== undefined) return { lifetimeMs: d.sMaxage * 1000, source: 'origin' }
  // RFC 9111 §5.2.2.1 / §5.3: max-age overrides Expires.
  if (d.maxAge !== undefined) return { lifetimeMs: d.maxAge * 1000, source: 'origin' }
  const expires = headers.expires
  if (expires === undefined || (typeof expires !== 'string' && expires.length === 0)) return undefined
  const expiresMs = parseHttpDate(expires, responseTime)
  if (expiresMs === undefined) return { lifetimeMs: 0, source: 'origin' }
  const dateMs = parseHttpDate(headers.date, responseTime) ?? responseTime
  return { lifetimeMs: Math.max(0, expiresMs - dateMs), source: 'origin' }
}

/** RFC 9110 §15.1: status codes that are heuristically cacheable (cacheable without explicit freshness). */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([
  200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
])

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

/** The route's explicit status rule for this status: the exact code, else its class ('5xx'). */
export function statusRuleMs(route: RouteCache, status: number): number | undefined {
  const exact = route.statusTtlMs.get(status)
  if (exact !== undefined) return exact
  const cls = STATUS_CLASSES[Math.floor(status / 100) - 1]
  return cls === undefined ? undefined : route.statusTtlMs.get(cls)
}

/**
 * The route's freshness for a status: its status rule (exact, then class), else `defaultTtlMs` for
 * heuristically cacheable statuses other than 5xx (a 501 gets a lifetime from the origin or from
 * a rule, never from the default), else undefined. 0 means "never store this status" (see storable.ts).
 */
export function routeTtlMs(route: RouteCache, status: number): number | undefined {
  const rule = statusRuleMs(route, status)
  if (rule !== undefined) return rule
  if (route.defaultTtlMs !== undefined && status < 500 && HEURISTICALLY_CACHEABLE.has(status)) {
    return route.defaultTtlMs
  }
  return undefined
}

/**
 * The freshness corral stores a response with. 'honor': the origin's explicit freshness, else the
 * route's (a configured heuristic, RFC 9111 §4.2.2). 'override': the route's, else the origin's.
 */
export function freshnessFor(
  status: number,
  d: ResponseDirectives,
  headers: HeaderMap,
  route: RouteCache,
  responseTime: number,
): Freshness | undefined {
  if (route.originCacheControl === 'honor') {
    const origin = originFreshness(d, headers, responseTime)
    if (origin !== undefined) return origin
    const ttl = routeTtlMs(route, status)
    if (ttl !== undefined) return { lifetimeMs: ttl, source: 'route' }
    return heuristicFreshness(status, headers, route, responseTime)
  }
  const ttl = routeTtlMs(route, status)
  if (ttl !== undefined) return { lifetimeMs: ttl, source: 'route' }
  return originFreshness(d, headers, responseTime) ?? heuristicFreshness(status, headers, route, responseTime)
}

/** Heuristic lifetimes never exceed a day (RFC 9111 §4.2.2 singles out longer ones as needing care). */
export const HEURISTIC_CAP_MS = 86_400_000

/**
 * RFC 9111 §4.2.2: when the route opts in, a heuristically cacheable response (not 5xx: those get
 * a lifetime only from the origin or a route rule) with Last-Modified is fresh for a fraction of its age at the time of the
 * response, as the RFC suggests ("typical setting of this fraction might be 10%").
 */
export function heuristicFreshness(status: number, headers: HeaderMap, route: RouteCache, responseTime: number): Freshness | undefined {
  if (route.heuristicFraction <= 0 || status >= 500 || !HEURISTICALLY_CACHEABLE.has(status)) return undefined
  const lastModified = parseHttpDate(headers['last-modified'], responseTime)
  if (lastModified === undefined) return undefined
  const date = parseHttpDate(headers.date, responseTime) ?? responseTime
  if (date <= lastModified) return undefined
  return { lifetimeMs: Math.min(HEURISTIC_CAP_MS, Math.floor((date - lastModified) * route.heuristicFraction)), source: 'heuristic' }
}

/**
 * How long after becoming stale a response may still be served: while revalidating in the
 * background (RFC 5861 §3 stale-while-revalidate) and when the origin fails (RFC 5861 §4
 * stale-if-error). The response's own values win over the route's defaults, but:
 * - must-revalidate (RFC 9111 §5.2.2.2), proxy-revalidate (§5.2.2.8) and s-maxage (§5.2.2.10,
 *   which implies proxy-revalidate for a shared cache) forbid serving stale at all: both 0
 *   (§4.2.4: a cache MUST NOT generate a stale response an explicit directive prohibits; §4.2.1:
 *   when directives conflict, the most restrictive wins).
 * - no-cache (unqualified, §5.2.2.4) forbids swr, and the route's default stale-if-error too; an
 *   explicit stale-if-error in the same response is the origin's own, later word (RFC 5861 §4:
 *   "regardless of other freshness information") and is kept.
 */
export function staleWindowsMs(d: ResponseDirectives, route: RouteCache): { swrMs: number; sieMs: number } {
  if (d.mustRevalidate || d.proxyRevalidate || d.sMaxage !== undefined) return { swrMs: 0, sieMs: 0 }
  const noCache = d.noCache === true
  const swrMs = noCache
    ? 0
    : d.staleWhileRevalidate !== undefined
      ? d.staleWhileRevalidate * 1000
      : route.staleWhileRevalidateMs
  const sieMs = d.staleIfError !== undefined ? d.staleIfError * 1000 : noCache ? 0 : route.staleIfErrorMs
  return { swrMs, sieMs }
}
