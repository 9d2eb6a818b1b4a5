import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { routeCache as route } from '../helpers/route.js'
import { buildEntry, judge, MAX_TRACKED_VARIANTS, refreshSiblings, storeEntry, type ResponseHead } from '../../src/stages/store.js'
import type { CacheEntry, VaryIndex } from '../../src/store/types.js'
import { NO_DIRECTIVES } from '../../src/stages/decide.js'
import { MemoryStore, recordBytes } from '../../src/store/memory.js'

const T = Date.UTC(2026, 10, 22, 12, 0, 0)

function head(headers: Record<string, string>, status = 200): ResponseHead {
  return { status, headers: { date: new Date(T).toUTCString(), ...headers }, requestTime: T, responseTime: T }
}

const key = { key: 'GET http://x/a', id: 'id', selector: '', target: '/a' }

function entryFor(headers: Record<string, string>, r = route()) {
  const h = head(headers)
  const verdict = judge(h, {}, NO_DIRECTIVES, r)
  if ('reason' in verdict) throw new Error(verdict.reason)
  return buildEntry(key, h, verdict.storable, Buffer.from('body'), {}, r)
}

describe('buildEntry', () => {
  it('sets absolute times from freshness, the stale windows and the retention', () => {
    const e = entryFor({ 'cache-control': 'max-age=60, stale-while-revalidate=30, stale-if-error=300' })
    expect(e.staleAt).toBe(T + 60_000)
    expect(e.swrUntil).toBe(T + 90_000)
    expect(e.sieUntil).toBe(T + 360_000)
    expect(e.expiresAt).toBe(T + 660_000)
  })

  it('subtracts the age the response already had', () => {
    const e = entryFor({ 'cache-control': 'max-age=60', age: '20' })
    expect(e.initialAgeMs).toBe(20_000)
    expect(e.staleAt).toBe(T + 40_000)
  })

  it('jitter only shortens freshness, by at most its fraction, and spreads entries', () => {
    const r = route({ jitter: 0.2 })
    const staleAts = Array.from({ length: 50 }, () => entryFor({ 'cache-control': 'max-age=100' }, r).staleAt)
    for (const s of staleAts) {
      expect(s).toBeLessThanOrEqual(T + 100_000)
      expect(s).toBeGreaterThanOrEqual(T + 80_000)
    }
    expect(new Set(staleAts).size).toBeGreaterThan(10)
  })

  it('stores neither hop-by-hop fields nor Content-Length, and keeps validators', () => {
    const e = entryFor({ 'cache-control': 'max-age=1', etag: '"e"', 'content-length': '4', connection: 'x-a', 'x-a': '1', 'x-b': '2' })
    const names = e.headers.map(([n]) => n)
    expect(names).toContain('x-b')
    expect(names).not.toContain('x-a')
    expect(names).not.toContain('content-length')
    expect(e.etag).toBe('"e"')
  })

  it('must-revalidate, proxy-revalidate and s-maxage forbid stale serving; no-cache asks for validation', () => {
    expect(entryFor({ 'cache-control': 'max-age=1, must-revalidate' }).noStale).toBe(true)
    expect(entryFor({ 'cache-control': 'max-age=1, proxy-revalidate' }).noStale).toBe(true)
    expect(entryFor({ 'cache-control': 's-maxage=1' }).noStale).toBe(true)
    expect(entryFor({ 'cache-control': 'no-cache', etag: '"x"' })).toMatchObject({ noStale: false, noCache: true })
    expect(entryFor({ 'cache-control': 'max-age=1' }).noStale).toBe(false)
  })

  it('adds the Date it received the response at when the origin sent none (RFC 9110 §6.6.1)', () => {
    const h: ResponseHead = { status: 200, headers: { 'cache-control': 'max-age=1' }, requestTime: T, responseTime: T + 5 }
    const verdict = judge(h, {}, NO_DIRECTIVES, route())
    if ('reason' in verdict) throw new Error(verdict.reason)
    const e = buildEntry(key, h, verdict.storable, Buffer.from(''), {}, route())
    expect(e.headers).toContainEqual(['date', new Date(T + 5).toUTCString()])
  })
})

describe('MemoryStore', () => {
  it('evicts least recently used entries to stay within its byte budget', async () => {
    // A quarter of the budget is kept back for the garbage collector (src/store/memory.ts): room for three.
    const make = (n: number) => ({ ...entryFor({ 'cache-control': 'max-age=60' }), key: `k${n}` })
    const each = recordBytes('a', make(1))
    const store = new MemoryStore({ maxBytes: each * 4, maxObjectBytes: 5_000 })
    setNow(T)
    await store.write([{ id: 'a', record: make(1) }])
    await store.write([{ id: 'b', record: make(2) }])
    await store.write([{ id: 'c', record: make(3) }])
    store.lookup('a') // a is now the most recently used
    await store.write([{ id: 'd', record: make(4) }])
    expect(store.lookup('b')).toBeUndefined()
    expect(store.lookup('a')).toBeDefined()
    expect((await store.stats()).bytes).toBeLessThanOrEqual(each * 3)
  })

  it('drops entries at expiresAt', async () => {
    const store = new MemoryStore({ maxBytes: 10_000, maxObjectBytes: 5_000 })
    setNow(T)
    await store.write([{ id: 'a', record: { kind: 'vary', version: 'v', vary: ['accept'], generation: 'g', expiresAt: T + 1_000, variants: [] } }])
    expect(store.lookup('a')).toBeDefined()
    setNow(T + 1_000)
    expect(store.lookup('a')).toBeUndefined()
  })
})

describe('variants of one URI', () => {
  beforeEach(() => setNow(T))
  const store = (): MemoryStore => new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 })
  const lang = (language: string) => ({ 'accept-language': language })
  /** A variant stored for this Accept-Language, as fetch would store it. */
  async function storeVariant(s: MemoryStore, language: string, headers: Record<string, string>): Promise<VaryIndex> {
    const h = head({ vary: 'accept-language', ...headers })
    const verdict = judge(h, lang(language), NO_DIRECTIVES, route())
    if ('reason' in verdict) throw new Error(verdict.reason)
    const index = s.lookup(key.id)
    await storeEntry(s, key, buildEntry(key, h, verdict.storable, Buffer.from(language), lang(language), route()), index?.kind === 'vary' ? index : undefined)
    return (s.lookup(key.id)) as VaryIndex
  }
  /** The variant stored for `language` (its body), found through the index's list. */
  function variant(s: MemoryStore, index: VaryIndex, language: string): CacheEntry {
    for (const id of index.variants) {
      const record = s.lookup(id)
      if (record?.kind === 'entry' && record.body.toString() === language) return record
    }
    throw new Error(`no variant for ${language}`)
  }

  it('the index lists its variants newest first, once each, and at most MAX_TRACKED_VARIANTS', async () => {
    const s = store()
    await storeVariant(s, 'fr', { 'cache-control': 'max-age=60' })
    await storeVariant(s, 'de', { 'cache-control': 'max-age=60' })
    const index = await storeVariant(s, 'fr', { 'cache-control': 'max-age=60' })
    expect(index.variants).toHaveLength(2)
    expect((s.lookup(index.variants[0]!))).toMatchObject({ body: Buffer.from('fr') })
    expect((s.lookup(index.variants[1]!))).toMatchObject({ body: Buffer.from('de') })
    let last = index
    for (let i = 0; i < MAX_TRACKED_VARIANTS + 5; i++) last = await storeVariant(s, `x${i}`, { 'cache-control': 'max-age=60' })
    expect(last.variants).toHaveLength(MAX_TRACKED_VARIANTS)
  })

  it('a 304 with a strong ETag refreshes every sibling with that ETag (RFC 9111 §4.3.4), and only those', async () => {
    const s = store()
    await storeVariant(s, 'fr', { 'cache-control': 'max-age=1', etag: '"same"' })
    await storeVariant(s, 'de', { 'cache-control': 'max-age=1', etag: '"same"' })
    const index = await storeVariant(s, 'it', { 'cache-control': 'max-age=1', etag: '"other"' })
    const fr = variant(s, index, 'fr')
    const later = T + 5_000
    const notModified: ResponseHead = {
      status: 304,
      headers: { date: new Date(later).toUTCString(), etag: '"same"', 'cache-control': 'max-age=600', 'x-version': '2' },
      requestTime: later,
      responseTime: later,
    }
    const refreshedFr = { ...fr, etag: '"same"' }
    expect(await refreshSiblings(s, key, index, notModified, refreshedFr, route())).toBe(1)
    const de = variant(s, index, 'de')
    expect(de.staleAt).toBe(later + 600_000)
    expect(de.headers).toContainEqual(['x-version', '2'])
    expect(de.body.toString()).toBe('de')
    expect((variant(s, index, 'it')).staleAt).toBe(T + 1_000)
  })

  it('a weak ETag selects only the variant it answered', async () => {
    const s = store()
    await storeVariant(s, 'fr', { 'cache-control': 'max-age=1', etag: 'W/"same"' })
    const index = await storeVariant(s, 'de', { 'cache-control': 'max-age=1', etag: 'W/"same"' })
    const fr = variant(s, index, 'fr')
    const notModified = head({ etag: 'W/"same"', 'cache-control': 'max-age=600' })
    expect(await refreshSiblings(s, key, index, notModified, fr, route())).toBe(0)
    expect((variant(s, index, 'de')).staleAt).toBe(T + 1_000)
  })
})

function setNow(t: number): void {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(t)
}
afterEach(() => {
  vi.useRealTimers()
})
