import { describe, expect, it } from 'vitest'
import { canServeStaleDisconnected, canServeStaleOnError, decide, NO_DIRECTIVES } from '../../src/stages/decide.js'
import type { RequestDirectives } from '../../src/policy/types.js'
import type { CacheEntry } from '../../src/store/types.js'

const T = 1_000_000

/** An entry received at T with no upstream age, fresh for 10 s. */
function entry(over: Partial<CacheEntry> = {}): CacheEntry {
  return {
    kind: 'entry',
    version: 'v',
    key: 'GET http://x/a',
    status: 200,
    headers: [],
    body: Buffer.from('x'),
    requestTime: T,
    responseTime: T,
    initialAgeMs: 0,
    staleAt: T + 10_000,
    swrUntil: T + 10_000,
    sieUntil: T + 10_000,
    expiresAt: T + 600_000,
    etag: undefined,
    lastModified: undefined,
    noCache: false,
    noStale: false,
    vary: [],
    varySignature: '',
    selector: '',
    size: 100,
    ...over,
  }
}

const rd = (d: Partial<RequestDirectives>): RequestDirectives => ({ ...NO_DIRECTIVES, ...d })

describe('decide', () => {
  it.each([
    ['nothing stored → fetch', undefined, NO_DIRECTIVES, T, 'fetch'],
    ['nothing stored, only-if-cached → 504', undefined, rd({ onlyIfCached: true }), T, 'unsatisfiable'],
    ['fresh → hit', entry(), NO_DIRECTIVES, T + 5_000, 'fresh'],
    ['just stale, no validators → fetch', entry(), NO_DIRECTIVES, T + 10_000, 'fetch'],
    ['stale with ETag → revalidate', entry({ etag: '"a"' }), NO_DIRECTIVES, T + 11_000, 'revalidate'],
    ['stale with Last-Modified → revalidate', entry({ lastModified: 'x' }), NO_DIRECTIVES, T + 11_000, 'revalidate'],
    ['stale within swr → serve stale and refresh', entry({ swrUntil: T + 20_000 }), NO_DIRECTIVES, T + 15_000, 'stale-while-revalidate'],
    ['stale past swr → fetch', entry({ swrUntil: T + 20_000 }), NO_DIRECTIVES, T + 20_000, 'fetch'],
    ['swr but must-revalidate → fetch', entry({ swrUntil: T + 20_000, noStale: true }), NO_DIRECTIVES, T + 15_000, 'fetch'],
    ['response no-cache → revalidate even when fresh', entry({ noCache: true, etag: '"a"' }), NO_DIRECTIVES, T + 1_000, 'revalidate'],
    ['request no-cache → revalidate even when fresh', entry({ etag: '"a"' }), rd({ noCache: true }), T + 1_000, 'revalidate'],
    ['request max-age=3 on a 5 s old entry → fetch', entry(), rd({ maxAge: 3 }), T + 5_000, 'fetch'],
    ['request max-age=6 on a 5 s old entry → hit', entry(), rd({ maxAge: 6 }), T + 5_000, 'fresh'],
    ['request min-fresh=8 with 5 s left → fetch', entry(), rd({ minFresh: 8 }), T + 5_000, 'fetch'],
    ['request max-stale=5, 3 s stale → serve stale', entry(), rd({ maxStale: 5 }), T + 13_000, 'serve-stale'],
    ['request max-stale=5, 6 s stale → fetch', entry(), rd({ maxStale: 5 }), T + 16_000, 'fetch'],
    ['request max-stale never beats must-revalidate', entry({ noStale: true }), rd({ maxStale: Infinity }), T + 13_000, 'fetch'],
    ['stale, only-if-cached → 504', entry(), rd({ onlyIfCached: true }), T + 11_000, 'unsatisfiable'],
    ['fresh, only-if-cached → hit', entry(), rd({ onlyIfCached: true }), T + 1_000, 'fresh'],
  ])('%s', (_name, stored, directives, now, kind) => {
    expect(decide(stored, directives, now).kind).toBe(kind)
  })

  it('age counts the initial age: an entry that arrived 8 s old is stale 2 s later', () => {
    const e = entry({ initialAgeMs: 8_000, staleAt: T + 2_000 })
    expect(decide(e, rd({ maxAge: 9 }), T + 1_500).kind).toBe('fetch')
    expect(decide(e, NO_DIRECTIVES, T + 1_500).kind).toBe('fresh')
  })

  it('marks fetches forced by the request', () => {
    expect(decide(entry({ etag: '"a"' }), rd({ noCache: true }), T)).toMatchObject({ kind: 'revalidate', byRequest: true })
    expect(decide(entry(), rd({ maxAge: 0 }), T + 1_000)).toMatchObject({ kind: 'fetch', byRequest: true })
    expect(decide(entry(), NO_DIRECTIVES, T + 11_000)).toMatchObject({ kind: 'fetch', byRequest: false })
  })
})

describe('canServeStaleOnError', () => {
  it.each([
    ['within the stale-if-error window', entry({ sieUntil: T + 20_000 }), NO_DIRECTIVES, T + 15_000, true],
    ['past the window', entry({ sieUntil: T + 20_000 }), NO_DIRECTIVES, T + 20_000, false],
    ['request stale-if-error widens it', entry(), rd({ staleIfError: 60 }), T + 30_000, true],
    ['must-revalidate forbids it', entry({ sieUntil: T + 20_000, noStale: true }), rd({ staleIfError: 60 }), T + 15_000, false],
    ['no-cache: its own stale-if-error window applies', entry({ sieUntil: T + 20_000, noCache: true }), NO_DIRECTIVES, T + 15_000, true],
    ['no-cache: a request stale-if-error does not', entry({ noCache: true }), rd({ staleIfError: 60 }), T + 30_000, false],
  ])('%s', (_name, e, directives, now, expected) => {
    expect(canServeStaleOnError(e, directives, now)).toBe(expected)
  })
})

describe('canServeStaleDisconnected (RFC 9111 §4.2.4)', () => {
  // The entry goes stale at T + 10 s; a 5-minute window ends at T + 310 s.
  const W = 300_000
  it.each([
    ['just stale, within the window', entry(), W, T + 10_000, true],
    ['near the end of the window', entry(), W, T + 309_999, true],
    ['at the end of the window (half-open)', entry(), W, T + 310_000, false],
    ['past the window', entry(), W, T + 400_000, false],
    ['still fresh (a validation the request forced)', entry(), W, T + 5_000, true],
    ['window 0: off', entry(), 0, T + 10_000, false],
    ['window 0: off, even for a fresh entry', entry(), 0, T + 5_000, false],
    ['must-revalidate, proxy-revalidate or s-maxage forbid it', entry({ noStale: true }), W, T + 11_000, false],
    ['unqualified no-cache forbids it', entry({ noCache: true }), W, T + 11_000, false],
    ['its own stale-if-error window does not limit it', entry({ sieUntil: T + 11_000 }), W, T + 60_000, true],
  ])('%s', (_name, e, windowMs, now, expected) => {
    expect(canServeStaleDisconnected(e, windowMs, now)).toBe(expected)
  })
})
