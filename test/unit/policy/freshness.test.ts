import { describe, expect, it } from 'vitest'
import type { RouteCache } from '../../../src/config/types.js'
import { routeCache } from '../../helpers/route.js'
import { parseResponseCacheControl } from '../../../src/policy/cache-control.js'
import {
  correctedInitialAgeMs,
  currentAgeMs,
  freshnessFor,
  originFreshness,
  parseAge,
  parseHttpDate,
  routeTtlMs,
  staleWindowsMs,
} from '../../../src/policy/freshness.js'
import type { HeaderMap } from '../../../src/policy/types.js'

const T = Date.UTC(2024, 0, 15, 12, 0, 0) // Mon, 15 Jan 2024 12:00:00 GMT
const httpDate = (ms: number): string => new Date(ms).toUTCString()

describe('parseHttpDate', () => {
  it.each<[string, string | string[] | undefined, number | undefined]>([
    ['IMF-fixdate', 'Mon, 15 Jan 2024 12:00:00 GMT', T],
    ['rfc850', 'Monday, 15-Jan-24 12:00:00 GMT', T],
    ['asctime', 'Mon Jan 15 12:00:00 2024', T],
    ['asctime with a one-digit day', 'Fri Jan  5 12:00:00 2024', Date.UTC(2024, 0, 5, 12)],
    ['surrounding whitespace', '  Mon, 15 Jan 2024 12:00:00 GMT ', T],
    ['wrong case is tolerated', 'MON, 15 JAN 2024 12:00:00 gmt', T],
    ['"0" is invalid (Date.parse would say year 2000)', '0', undefined],
    ['garbage', 'garbage 5', undefined],
    ['UTC instead of GMT', 'Mon, 15 Jan 2024 12:00:00 UTC', undefined],
    ['31 February', 'Sat, 31 Feb 2024 12:00:00 GMT', undefined],
    ['hour 24', 'Mon, 15 Jan 2024 24:00:00 GMT', undefined],
    ['identical repeated lines', ['Mon, 15 Jan 2024 12:00:00 GMT', 'Mon, 15 Jan 2024 12:00:00 GMT'], T],
    ['differing repeated lines', ['Mon, 15 Jan 2024 12:00:00 GMT', 'Tue, 16 Jan 2024 12:00:00 GMT'], undefined],
    ['absent', undefined, undefined],
  ])('%s', (_name, value, expected) => {
    expect(parseHttpDate(value)).toBe(expected)
  })

  it('reads an rfc850 year more than 50 years ahead of the reference as the past century', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', T)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37))
    expect(parseHttpDate('Thursday, 06-Nov-25 08:49:37 GMT', T)).toBe(Date.UTC(2025, 10, 6, 8, 49, 37))
  })
})

describe('parseAge', () => {
  it.each<[string, string | string[] | undefined, number | undefined]>([
    ['plain', '60', 60],
    ['absent', undefined, undefined],
    ['non-numeric is ignored', 'abc', undefined],
    ['negative is ignored', '-7200', undefined],
    ['float is ignored', '7200.0', undefined],
    ['duplicates in one line', '0, 0', 0],
    ['a list: the first member (RFC 9111 §5.1)', '0,7200', 0],
    ['a list: the first member, even when later ones are smaller', '7200,0', 7200],
    ['two lines: the first line', ['7200', '0'], 7200],
    ['two lines: the first line, even when later ones are larger', ['0', '7200'], 0],
    ['a trailing invalid member is discarded', '0, old', 0],
    ['a trailing invalid line is discarded', ['60', 'old'], 60],
    ['an invalid first member: the field is ignored', 'old, 60', undefined],
    ['an invalid first line: the field is ignored', ['old', '60'], undefined],
    ['empty members before the first are skipped (RFC 9110 §5.6.1)', ' , 30, 0', 30],
    ['only empty members', ', ,', undefined],
    ['space-separated trailing token is not a list: invalid', '0 old', undefined],
    ['a quoted number is not delta-seconds', '"60"', undefined],
    ['overflow clamps', '99999999999', 2147483648],
  ])('%s', (_name, value, expected) => {
    expect(parseAge(value)).toBe(expected)
  })
})

describe('correctedInitialAgeMs (RFC 9111 §4.2.3)', () => {
  it.each<[string, { requestTime: number; responseTime: number; date?: string; age?: string | string[] }, number]>([
    ['no Date, no Age: just the response delay', { requestTime: T - 500, responseTime: T }, 500],
    ['apparent age from Date', { requestTime: T, responseTime: T, date: httpDate(T - 10_000) }, 10_000],
    ['Age plus response delay', { requestTime: T - 2_000, responseTime: T, age: '30' }, 32_000],
    [
      'the larger of apparent age and corrected Age',
      { requestTime: T - 1_000, responseTime: T, date: httpDate(T - 60_000), age: '5' },
      60_000,
    ],
    [
      'corrected Age wins over a smaller apparent age',
      { requestTime: T - 3_000, responseTime: T, date: httpDate(T - 1_000), age: '100' },
      103_000,
    ],
    ['a Date in the future gives apparent age 0', { requestTime: T, responseTime: T, date: httpDate(T + 60_000) }, 0],
    ['invalid Date gives apparent age 0', { requestTime: T - 100, responseTime: T, date: 'yesterday' }, 100],
    ['invalid Age is ignored', { requestTime: T - 100, responseTime: T, age: 'old' }, 100],
    ['a listed Age counts its first member', { requestTime: T - 100, responseTime: T, age: '30, old' }, 30_100],
    ['two Age lines count the first', { requestTime: T - 100, responseTime: T, age: ['0', '7200'] }, 100],
  ])('%s', (_name, input, expected) => {
    expect(correctedInitialAgeMs(input)).toBe(expected)
  })
})

describe('currentAgeMs', () => {
  it.each<[string, number, number, number, number]>([
    ['adds the time resident in the cache', 5_000, T, T + 10_000, 15_000],
    ['just stored', 5_000, T, T, 5_000],
    ['a clock that went backwards adds nothing', 5_000, T, T - 1_000, 5_000],
  ])('%s', (_name, initial, responseTime, now, expected) => {
    expect(currentAgeMs(initial, responseTime, now)).toBe(expected)
  })
})

describe('originFreshness (shared cache, RFC 9111 §4.2.1)', () => {
  it.each<[string, string | undefined, HeaderMap, number | undefined]>([
    ['s-maxage wins over max-age', 's-maxage=10, max-age=100', {}, 10_000],
    ['s-maxage wins over a longer max-age', 'max-age=3600, s-maxage=1', {}, 1_000],
    ['max-age wins over Expires', 'max-age=60', { expires: httpDate(T + 3_600_000), date: httpDate(T) }, 60_000],
    ['max-age wins over an invalid Expires', 'max-age=3600', { expires: '0', date: httpDate(T) }, 3_600_000],
    ['max-age=0 with a future Expires is stale', 'max-age=0', { expires: httpDate(T + 10_000) }, 0],
    ['Expires minus Date', undefined, { expires: httpDate(T + 30_000), date: httpDate(T - 10_000) }, 40_000],
    ['Expires minus the receipt time when Date is missing', undefined, { expires: httpDate(T + 30_000) }, 30_000],
    ['Expires minus the receipt time when Date is invalid', undefined, { expires: httpDate(T + 30_000), date: 'now' }, 30_000],
    ['Expires: 0 is already expired', undefined, { expires: '0' }, 0],
    ['garbage Expires is already expired', undefined, { expires: 'never' }, 0],
    ['Expires in the past is 0, not negative', undefined, { expires: httpDate(T - 30_000), date: httpDate(T) }, 0],
    ['conflicting max-age is stale', 'max-age=1800, max-age=1', { expires: httpDate(T + 30_000) }, 0],
    ['invalid max-age is stale', 'max-age=abc', {}, 0],
    ['no explicit freshness', 'public', {}, undefined],
    ['no headers at all', undefined, {}, undefined],
  ])('%s', (_name, cc, headers, expected) => {
    const f = originFreshness(parseResponseCacheControl(cc), headers, T)
    expect(f?.lifetimeMs).toBe(expected)
    if (f !== undefined) expect(f.source).toBe('origin')
  })
})

describe('routeTtlMs', () => {
  const route = routeCache({
    defaultTtlMs: 60_000,
    statusTtlMs: new Map<number | '1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>([
      [404, 5_000],
      ['4xx', 1_000],
      [503, 2_000],
      [410, 0],
    ]),
  })
  it.each<[string, number, number | undefined]>([
    ['exact status rule', 404, 5_000],
    ['exact 0 (never store)', 410, 0],
    ['class rule when no exact one', 400, 1_000],
    ['class rule beats the default for heuristic statuses', 405, 1_000],
    ['default for heuristically cacheable 200', 200, 60_000],
    ['default for 301', 301, 60_000],
    ['exact 5xx rule', 503, 2_000],
    ['no default for 501 (a 5xx)', 501, undefined],
    ['no default for 500', 500, undefined],
    ['no default for a non-heuristic status', 302, undefined],
  ])('%s', (_name, status, expected) => {
    expect(routeTtlMs(route, status)).toBe(expected)
  })

  it('is undefined without a default or rule', () => {
    expect(routeTtlMs(routeCache(), 200)).toBeUndefined()
  })
})

describe('freshnessFor', () => {
  const withDefault = { defaultTtlMs: 60_000 }
  it.each<[string, Partial<RouteCache>, string | undefined, { lifetimeMs: number; source: string } | undefined]>([
    ['honor: origin freshness first', withDefault, 'max-age=5', { lifetimeMs: 5_000, source: 'origin' }],
    ['honor: route when the origin is silent', withDefault, undefined, { lifetimeMs: 60_000, source: 'route' }],
    ['honor: conflicting origin freshness is still origin (stale)', withDefault, 'max-age=1, max-age=2', { lifetimeMs: 0, source: 'origin' }],
    ['honor: nothing at all', {}, undefined, undefined],
    ['override: route first', { ...withDefault, originCacheControl: 'override' }, 'max-age=5', { lifetimeMs: 60_000, source: 'route' }],
    ['override: origin when the route has none', { originCacheControl: 'override' }, 'max-age=5', { lifetimeMs: 5_000, source: 'origin' }],
  ])('%s', (_name, over, cc, expected) => {
    expect(freshnessFor(200, parseResponseCacheControl(cc), {}, routeCache(over), T)).toEqual(expected)
  })
})

describe('staleWindowsMs', () => {
  const route = routeCache({ staleWhileRevalidateMs: 10_000, staleIfErrorMs: 20_000 })
  it.each<[string, string | undefined, { swrMs: number; sieMs: number }]>([
    ['route defaults when the response is silent', 'max-age=60', { swrMs: 10_000, sieMs: 20_000 }],
    ['the response overrides the defaults', 'max-age=60, stale-while-revalidate=1, stale-if-error=2', { swrMs: 1_000, sieMs: 2_000 }],
    ['must-revalidate forbids both', 'max-age=60, must-revalidate, stale-while-revalidate=30', { swrMs: 0, sieMs: 0 }],
    ['proxy-revalidate forbids both', 'max-age=60, proxy-revalidate', { swrMs: 0, sieMs: 0 }],
    ['s-maxage forbids both (implies proxy-revalidate)', 's-maxage=60, stale-if-error=60', { swrMs: 0, sieMs: 0 }],
    ['an unreadable s-maxage forbids both too', 's-maxage=abc, stale-while-revalidate=60, stale-if-error=600', { swrMs: 0, sieMs: 0 }],
    ['no-cache forbids swr and the default sie', 'no-cache', { swrMs: 0, sieMs: 0 }],
    ['no-cache keeps an explicit stale-if-error', 'no-cache, stale-if-error=5', { swrMs: 0, sieMs: 5_000 }],
    ['qualified no-cache does not forbid stale', 'no-cache="set-cookie", max-age=60', { swrMs: 10_000, sieMs: 20_000 }],
  ])('%s', (_name, cc, expected) => {
    expect(staleWindowsMs(parseResponseCacheControl(cc), route)).toEqual(expected)
  })
})
