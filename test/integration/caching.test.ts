/** Transcripts of what gets stored and for how long, against a real origin over loopback. */
import { describe, expect, it, vi } from 'vitest'
import { later, useGateway } from '../helpers/gateway.js'

const t = useGateway(() => ({
  routes: [
    { name: 'ttl', match: { path: '/ttl/' }, cache: { ttl: '10s', statusTtl: { 404: '5s', 503: '2s' } } },
    { name: 'override', match: { path: '/override/' }, cache: { ttl: '30s', originCacheControl: 'override' } },
    { name: 'no-5xx', match: { path: '/no-5xx/' }, cache: { statusTtl: { '5xx': 0 } } },
    { name: 'default', cache: true },
  ],
}))

describe('freshness', () => {
  it('MISS, then HIT, then EXPIRED after max-age', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/a', (_r, n) => ({ headers: { 'cache-control': 'max-age=2' }, body: `v${n}` }))
    expect(await t.get('/a')).toMatchObject({ status: 200, cacheStatus: 'MISS', body: 'v1' })
    expect(await t.get('/a')).toMatchObject({ status: 200, cacheStatus: 'HIT', body: 'v1' })
    later(2_100)
    expect(await t.get('/a')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
    expect(await t.get('/a')).toMatchObject({ cacheStatus: 'HIT', body: 'v2' })
    expect(t.origin.hitsOn('/a')).toBe(2)
  })

  it('s-maxage wins over max-age for a shared cache', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/s', (_r, n) => ({ headers: { 'cache-control': 'max-age=100, s-maxage=1' }, body: `v${n}` }))
    await t.get('/s')
    later(1_100)
    expect(await t.get('/s')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
  })

  it('Expires minus Date gives freshness when Cache-Control has none', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const now = Date.now()
    t.origin.on('/expires', (_r, n) => ({
      headers: { date: new Date(now).toUTCString(), expires: new Date(now + 5_000).toUTCString() },
      body: `v${n}`,
    }))
    await t.get('/expires')
    later(3_000)
    expect(await t.get('/expires')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
    later(3_000)
    expect(await t.get('/expires')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
  })

  it('an invalid Expires means already stale', async () => {
    t.origin.on('/bad-expires', (_r, n) => ({ headers: { expires: '0' }, body: `v${n}` }))
    await t.get('/bad-expires')
    expect(await t.get('/bad-expires')).toMatchObject({ body: 'v2' })
  })

  it('sends Age, counting the Age the origin already reported', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/aged', { headers: { 'cache-control': 'max-age=100', age: '30' }, body: 'x' })
    expect((await t.get('/aged')).age).toBe(30)
    later(5_000)
    const hit = await t.get('/aged')
    expect(hit.cacheStatus).toBe('HIT')
    expect(hit.age).toBe(35)
  })

  it('an upstream Age beyond max-age makes the response stale on arrival', async () => {
    t.origin.on('/old', (_r, n) => ({ headers: { 'cache-control': 'max-age=10', age: '20' }, body: `v${n}` }))
    await t.get('/old')
    expect(await t.get('/old')).toMatchObject({ body: 'v2' })
  })

  it.each<[string, string | string[], number]>([
    ['a list: the first member', '30, 7200', 30],
    ['a list with a trailing token: the first member', '30, old', 30],
    ['two Age lines: the first', ['30', '7200'], 30],
    ['two Age lines, the second invalid: the first', ['30', 'old'], 30],
    ['an invalid first member: Age is ignored', 'old, 30', 0],
    ['an invalid value: Age is ignored', '-30', 0],
  ])('reads the upstream Age as RFC 9111 §5.1 says: %s', async (name, age, expected) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const path = `/age/${name.replace(/\W+/g, '-')}`
    t.origin.on(path, { headers: { 'cache-control': 'max-age=100', age }, body: 'x' })
    expect((await t.get(path)).age).toBe(expected)
    later(5_000)
    expect(await t.get(path)).toMatchObject({ cacheStatus: 'HIT', age: expected + 5 })
  })

  it('an Age list is as old as its first member: fresh with "0, 20", stale on arrival with "20, 0"', async () => {
    t.origin.on('/age-first-young', (_r, n) => ({ headers: { 'cache-control': 'max-age=10', age: ['0', '20'] }, body: `v${n}` }))
    t.origin.on('/age-first-old', (_r, n) => ({ headers: { 'cache-control': 'max-age=10', age: '20, 0' }, body: `v${n}` }))
    await t.get('/age-first-young')
    await t.get('/age-first-old')
    expect(await t.get('/age-first-young')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
    expect(await t.get('/age-first-old')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
  })

  it('no default TTL: a response without freshness information is not stored', async () => {
    t.origin.on('/plain', (_r, n) => ({ body: `v${n}` }))
    expect(await t.get('/plain')).toMatchObject({ cacheStatus: 'MISS', body: 'v1' })
    expect(await t.get('/plain')).toMatchObject({ cacheStatus: 'MISS', body: 'v2' })
  })

  it('the route TTL applies only when the origin says nothing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/ttl/quiet', (_r, n) => ({ body: `q${n}` }))
    t.origin.on('/ttl/explicit', (_r, n) => ({ headers: { 'cache-control': 'max-age=1' }, body: `e${n}` }))
    await t.get('/ttl/quiet')
    await t.get('/ttl/explicit')
    later(2_000)
    expect(await t.get('/ttl/quiet')).toMatchObject({ cacheStatus: 'HIT', body: 'q1' })
    expect(await t.get('/ttl/explicit')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'e2' })
  })

  it('per-status TTLs: 404 for 5s, 503 only because a rule says so', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/ttl/missing', (_r, n) => ({ status: 404, body: `nf${n}` }))
    t.origin.on('/ttl/down', (_r, n) => ({ status: 503, body: `d${n}` }))
    t.origin.on('/ttl/broken', (_r, n) => ({ status: 500, body: `b${n}` }))
    await t.get('/ttl/missing')
    await t.get('/ttl/down')
    await t.get('/ttl/broken')
    expect(await t.get('/ttl/missing')).toMatchObject({ status: 404, cacheStatus: 'HIT' })
    expect(await t.get('/ttl/down')).toMatchObject({ status: 503, cacheStatus: 'HIT' })
    expect(await t.get('/ttl/broken')).toMatchObject({ status: 500, cacheStatus: 'MISS', body: 'b2' })
    later(5_100)
    expect(await t.get('/ttl/missing')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'nf2' })
  })

  it('override: the route TTL replaces the origin max-age, but never stores no-store', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/override/short', (_r, n) => ({ headers: { 'cache-control': 'max-age=1' }, body: `o${n}` }))
    t.origin.on('/override/secret', (_r, n) => ({ headers: { 'cache-control': 'no-store' }, body: `s${n}` }))
    await t.get('/override/short')
    await t.get('/override/secret')
    later(5_000)
    expect(await t.get('/override/short')).toMatchObject({ cacheStatus: 'HIT', body: 'o1' })
    expect(await t.get('/override/secret')).toMatchObject({ cacheStatus: 'MISS', body: 's2' })
  })
})

describe('what is never stored', () => {
  it.each([
    ['no-store', { 'cache-control': 'max-age=60, no-store' }],
    ['private', { 'cache-control': 'private, max-age=60' }],
    ['Set-Cookie', { 'cache-control': 'max-age=60', 'set-cookie': 'sid=1' }],
    ['Vary: *', { 'cache-control': 'max-age=60', vary: '*' }],
  ])('%s', async (_name, headers) => {
    t.origin.on('/never', (_r, n) => ({ headers, body: `v${n}` }))
    expect(await t.get('/never')).toMatchObject({ cacheStatus: 'MISS', body: 'v1' })
    expect(await t.get('/never')).toMatchObject({ cacheStatus: 'MISS', body: 'v2' })
  })

  it('a 5xx without explicit freshness or a rule', async () => {
    t.origin.on('/err', (_r, n) => ({ status: 500, headers: { 'last-modified': 'Mon, 15 Jan 2024 12:00:00 GMT' }, body: `v${n}` }))
    await t.get('/err')
    expect(await t.get('/err')).toMatchObject({ status: 500, cacheStatus: 'MISS', body: 'v2' })
  })

  it("a 5xx with max-age, when the route says 5xx: 0 (the operator's word wins)", async () => {
    t.origin.on('/no-5xx/down', (_r, n) => ({ status: 503, headers: { 'cache-control': 'max-age=60' }, body: `d${n}` }))
    t.origin.on('/no-5xx/ok', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `o${n}` }))
    expect(await t.get('/no-5xx/down')).toMatchObject({ status: 503, cacheStatus: 'MISS', body: 'd1' })
    const again = await t.get('/no-5xx/down')
    expect(again).toMatchObject({ status: 503, cacheStatus: 'MISS', body: 'd2' })
    expect(again.cacheStatusHeader).toBe('corral; fwd=uri-miss; fwd-status=503; detail=status')
    await t.get('/no-5xx/ok')
    expect(await t.get('/no-5xx/ok')).toMatchObject({ status: 200, cacheStatus: 'HIT', body: 'o1' })
  })

  it('a request with Authorization, unless the response says public or s-maxage', async () => {
    t.origin.on('/auth', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `a${n}` }))
    t.origin.on('/auth-public', (_r, n) => ({ headers: { 'cache-control': 'public, max-age=60' }, body: `p${n}` }))
    const auth = { authorization: 'Bearer x' }
    await t.get('/auth', { headers: auth })
    expect(await t.get('/auth', { headers: auth })).toMatchObject({ cacheStatus: 'MISS', body: 'a2' })
    await t.get('/auth-public', { headers: auth })
    expect(await t.get('/auth-public')).toMatchObject({ cacheStatus: 'HIT', body: 'p1' })
  })

  it('a request that says no-store', async () => {
    t.origin.on('/req-no-store', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `v${n}` }))
    await t.get('/req-no-store', { headers: { 'cache-control': 'no-store' } })
    expect(await t.get('/req-no-store')).toMatchObject({ cacheStatus: 'MISS', body: 'v2' })
  })
})

describe('a 5xx with explicit freshness (RFC 9111 §3)', () => {
  it.each<[string, number, () => Record<string, string>]>([
    ['max-age', 503, () => ({ 'cache-control': 'max-age=2', 'retry-after': '2' })],
    ['s-maxage', 500, () => ({ 'cache-control': 's-maxage=2' })],
    ['Expires', 502, () => ({ expires: new Date(Date.now() + 2_000).toUTCString() })],
    ['a targeted field (CDN-Cache-Control)', 504, () => ({ 'cdn-cache-control': 'max-age=2', 'cache-control': 'no-store' })],
    ['an unknown status with max-age', 599, () => ({ 'cache-control': 'max-age=2' })],
  ])('is stored like any other response: %s', async (name, status, headers) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const path = `/5xx/${name.replace(/\W+/g, '-')}`
    t.origin.on(path, (_r, n) => ({ status, headers: headers(), body: `e${n}` }))
    const miss = await t.get(path)
    expect(miss).toMatchObject({ status, cacheStatus: 'MISS', body: 'e1' })
    expect(miss.cacheStatusHeader).toMatch(new RegExp(`^corral; fwd=uri-miss; fwd-status=${status}; ttl=[12]; stored$`))
    expect(await t.get(path)).toMatchObject({ status, cacheStatus: 'HIT', body: 'e1' })
    later(2_100)
    expect(await t.get(path)).toMatchObject({ status, cacheStatus: 'EXPIRED', body: 'e2' })
    expect(t.origin.hitsOn(path)).toBe(2)
  })

  it('a route ttl does not reach a 5xx: only the origin or a statusTtl rule gives it a lifetime', async () => {
    t.origin.on('/ttl/no-lifetime', (_r, n) => ({ status: 502, body: `n${n}` }))
    t.origin.on('/ttl/own-lifetime', (_r, n) => ({ status: 502, headers: { 'cache-control': 'max-age=60' }, body: `o${n}` }))
    await t.get('/ttl/no-lifetime')
    await t.get('/ttl/own-lifetime')
    expect(await t.get('/ttl/no-lifetime')).toMatchObject({ status: 502, cacheStatus: 'MISS', body: 'n2' })
    expect(await t.get('/ttl/own-lifetime')).toMatchObject({ status: 502, cacheStatus: 'HIT', body: 'o1' })
  })
})

describe('variants and HEAD', () => {
  it('stores one variant per value of the Vary fields', async () => {
    t.origin.on('/lang', (r) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      body: `lang=${String(r.headers['accept-language'])}`,
    }))
    expect(await t.get('/lang', { headers: { 'accept-language': 'fr' } })).toMatchObject({ cacheStatus: 'MISS', body: 'lang=fr' })
    expect(await t.get('/lang', { headers: { 'accept-language': 'de' } })).toMatchObject({ cacheStatus: 'MISS', body: 'lang=de' })
    const vm = await t.get('/lang', { headers: { 'accept-language': 'en' } })
    expect(vm.cacheStatusHeader).toContain('fwd=vary-miss')
    expect(await t.get('/lang', { headers: { 'accept-language': 'fr' } })).toMatchObject({ cacheStatus: 'HIT', body: 'lang=fr' })
    expect(await t.get('/lang', { headers: { 'accept-language': 'de' } })).toMatchObject({ cacheStatus: 'HIT', body: 'lang=de' })
    expect(t.origin.hitsOn('/lang')).toBe(3)
  })

  it('answers HEAD from the GET entry, and fills the cache with a GET on a HEAD miss', async () => {
    t.origin.on('/head', { headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, body: 'hello' })
    const head = await t.get('/head', { method: 'HEAD' })
    expect(head).toMatchObject({ status: 200, cacheStatus: 'MISS', body: '' })
    expect(head.headers['content-length']).toBe('5')
    expect(t.origin.seen.map((r) => r.method)).toEqual(['GET'])
    expect(await t.get('/head')).toMatchObject({ cacheStatus: 'HIT', body: 'hello' })
    expect(await t.get('/head', { method: 'HEAD' })).toMatchObject({ cacheStatus: 'HIT', body: '' })
  })
})

describe('headers on the way out', () => {
  it('a stored 204 is served without Content-Length or content', async () => {
    t.origin.on('/empty', { status: 204, headers: { 'cache-control': 'max-age=60', 'content-length': '0' } })
    await t.get('/empty')
    const hit = await t.get('/empty')
    expect(hit).toMatchObject({ status: 204, cacheStatus: 'HIT', body: '' })
    expect(hit.headers['content-length']).toBeUndefined()
  })

  it('sends X-Cache-Status, Cache-Status and Age, never stores them, and drops hop-by-hop fields', async () => {
    t.origin.on('/h', {
      headers: { 'cache-control': 'max-age=60', 'x-app': 'yes', connection: 'x-internal', 'x-internal': 'secret', 'proxy-authenticate': 'Basic' },
      body: 'h',
    })
    // The origin's Date has whole seconds: up to a second of apparent age, so Age may say 1.
    const miss = await t.get('/h')
    expect(miss.cacheStatusHeader).toMatch(/^corral; fwd=uri-miss; fwd-status=200; ttl=(59|60); stored$/)
    expect(miss.cacheStatusHeader).toContain(`ttl=${60 - (miss.age ?? 0)};`)
    const hit = await t.get('/h')
    expect(hit.headers['x-app']).toBe('yes')
    expect(hit.headers['x-internal']).toBeUndefined()
    expect(hit.headers['proxy-authenticate']).toBeUndefined()
    expect(hit.cacheStatusHeader).toBe(`corral; hit; ttl=${60 - (hit.age ?? -1)}`)
    expect(hit.age).toBeLessThanOrEqual(1)
  })

  it('Cache-Status ttl is max-age minus Age in whole seconds, however long the origin took', async () => {
    // A clock on a whole second, so that the origin's Date (whole seconds) adds no apparent age;
    // the origin takes 30 ms, which counts into the entry's age (RFC 9111 §4.2.3). Age says 0,
    // so ttl must say 5: the milliseconds left (4.97 s) are not what a client can check.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Math.ceil(Date.now() / 1000) * 1000)
    t.origin.on('/ttl5', () => {
      later(30)
      return { headers: { 'cache-control': 'max-age=5' }, body: 'x' }
    })
    const miss = await t.get('/ttl5')
    expect(miss).toMatchObject({ cacheStatus: 'MISS', age: 0 })
    expect(miss.cacheStatusHeader).toBe('corral; fwd=uri-miss; fwd-status=200; ttl=5; stored')
    expect(await t.get('/ttl5')).toMatchObject({ age: 0, cacheStatusHeader: 'corral; hit; ttl=5' })
    later(2_500)
    expect(await t.get('/ttl5')).toMatchObject({ cacheStatus: 'HIT', age: 2, cacheStatusHeader: 'corral; hit; ttl=3' })
    later(2_500)
    // 5.03 s old: stale, and ttl says by how much in the same whole seconds
    t.origin.on('/ttl5', { headers: { 'cache-control': 'max-age=5' }, body: 'y' })
    expect(await t.get('/ttl5', { headers: { 'cache-control': 'max-stale' } })).toMatchObject({ cacheStatus: 'STALE', age: 5, cacheStatusHeader: 'corral; hit; ttl=0; detail=max-stale' })
  })

  it('appends its Cache-Status member after the origin one (RFC 9211)', async () => {
    t.origin.on('/cs', { headers: { 'cache-control': 'max-age=60', 'cache-status': 'upstream-cdn; hit' }, body: 'x' })
    await t.get('/cs')
    expect((await t.get('/cs')).cacheStatusHeader).toMatch(/^upstream-cdn; hit, corral; hit; ttl=/)
  })
})
