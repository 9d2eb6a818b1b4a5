/**
 * explain: the dry run tells what corral would do with a request, and why, against a real
 * gateway and origin; the origin sees no request and the store does not change. Where it can,
 * each test then makes the real request and checks that corral did what explain said.
 */
import { describe, expect, it, vi } from 'vitest'
import { explain, type ExplainInput, type ExplainReport } from '../../src/admin/explain.js'
import { later, useGateway } from '../helpers/gateway.js'

const t = useGateway(() => ({
  purge: { method: true, allow: ['127.0.0.1/32'] },
  routes: [
    { name: 'off', match: { path: '/off/' }, cache: false },
    { name: 'private', match: { path: '/private/' }, cache: { bypass: [{ header: 'authorization' }, { query: 'nocache', equals: '1' }] } },
    { name: 'keyed', match: { path: '/keyed/' }, cache: { key: { query: { ignore: ['utm_source'] }, headers: ['x-tenant'] } } },
    { name: 'early', match: { path: '/early/' }, cache: { earlyRefresh: 0.5 } },
    { name: 'api', match: { path: '/api/' }, cache: true },
  ],
}))

const base = (): string => t.gateway.urls[0]!
const host = (): string => new URL(base()).host

/**
 * explain, checking that it changed nothing: no origin request (not even a late one), the same
 * store contents, no background refresh, no flight; and that the report survives JSON.
 */
async function dryRun(input: ExplainInput): Promise<ExplainReport> {
  const rt = t.gateway.runtime
  const hits = t.origin.hits
  const stored = await rt.store.stats()
  const report = await explain(rt, input)
  await new Promise((r) => setTimeout(r, 20))
  expect(t.origin.hits).toBe(hits)
  expect(await rt.store.stats()).toEqual(stored)
  expect(rt.background.size).toBe(0)
  expect(rt.coalescer.stats().flights).toBe(0)
  expect(JSON.parse(JSON.stringify(report))).toEqual(report)
  return report
}

describe('explain', () => {
  it('a fresh entry: HIT, with its age, lifetime, validators and why', async () => {
    t.origin.on('/api/hit', { headers: { 'cache-control': 'max-age=60', etag: '"v1"', 'surrogate-key': 'a b' }, body: 'hello' })
    expect((await t.get('/api/hit')).cacheStatus).toBe('MISS')

    const r = await dryRun({ url: `${base()}/api/hit` })
    expect(r.request).toMatchObject({ method: 'GET', host: host(), path: '/api/hit', query: '', directives: null })
    expect(r.route).toMatchObject({ name: 'api', index: 4, upstream: { name: 'default', url: `${t.origin.url}/` }, cache: true })
    expect(r.bypass).toBeNull()
    expect(r.key).toMatchObject({ uri: `GET http://${host()}/api/hit`, target: '/api/hit', originUrl: `${t.origin.url}/api/hit`, selector: [] })
    expect(r.key?.id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(r.variant).toBeNull()
    expect(r.entry).toMatchObject({ id: r.key?.id, status: 200, fresh: true, lifetimeS: 60, etag: '"v1"', cacheControl: 'max-age=60', bodyBytes: 5, mustRevalidate: false, noCache: false, staleSinceS: null })
    expect(r.entry?.freshForS).toBeGreaterThan(55)
    expect(r.entry?.freshForS).toBeLessThanOrEqual(60)
    expect(r.entry?.ageS).toBeLessThan(5)
    expect(Date.parse(r.entry!.expiresAt)).toBeGreaterThan(Date.now() + 60_000)
    expect(r.decision).toMatchObject({ action: 'hit', cacheStatus: ['HIT'], status: 200, origin: 'none', reason: null, error: null })
    expect(r.decision.why).toMatch(/^stored .* ago .* freshness lifetime of 60 s \(Cache-Control: max-age=60\): fresh for \d+ s more/)

    // The path form with a Host field says the same; and corral does what it said.
    const byPath = await dryRun({ url: '/api/hit', headers: { Host: host() } })
    expect(byPath.key?.id).toBe(r.key?.id)
    expect(byPath.decision.action).toBe('hit')
    expect((await t.get('/api/hit')).cacheStatus).toBe('HIT')
    expect(t.origin.hitsOn('/api/hit')).toBe(1)
  })

  it('a client conditional on a hit: answered 304 from the cache', async () => {
    t.origin.on('/api/cond', { headers: { 'cache-control': 'max-age=60', etag: '"c1"' }, body: 'x' })
    await t.get('/api/cond')
    const r = await dryRun({ url: `${base()}/api/cond`, headers: { 'if-none-match': '"c1"' } })
    expect(r.decision).toMatchObject({ action: 'hit', status: 304 })
    expect(r.decision.notes.join(' ')).toContain('304 Not Modified')
    expect((await t.get('/api/cond', { headers: { 'if-none-match': '"c1"' } })).status).toBe(304)
  })

  it('nothing stored: MISS, and the origin is asked nothing until the real request', async () => {
    const r = await dryRun({ url: `${base()}/api/none?b=2&a=1` })
    expect(r.entry).toBeNull()
    expect(r.variant).toBeNull()
    expect(r.key).toMatchObject({ uri: `GET http://${host()}/api/none?a=1&b=2`, target: '/api/none?a=1&b=2' })
    expect(r.key?.query).toMatchObject({ received: 'b=2&a=1', keyed: 'a=1&b=2', mode: 'all', dropped: [], reordered: true })
    expect(r.decision).toMatchObject({ action: 'fetch', cacheStatus: ['MISS'], origin: 'full', status: null })
    expect(r.decision.why).toBe('nothing is stored for this key, so corral fetches it from the origin (MISS)')
    expect(t.origin.hits).toBe(0)
    expect((await t.get('/api/none?b=2&a=1')).cacheStatus).toBe('MISS')
    expect(t.origin.seen[0]?.url).toBe('/api/none?a=1&b=2')
  })

  it('only-if-cached with nothing stored: 504 without the origin', async () => {
    const r = await dryRun({ url: `${base()}/api/oic`, headers: { 'cache-control': 'only-if-cached' } })
    expect(r.request.directives).toMatchObject({ onlyIfCached: true })
    expect(r.decision).toMatchObject({ action: 'only-if-cached', status: 504, cacheStatus: [], reason: 'ONLY_IF_CACHED', error: { code: 'CORRAL_ERR_ONLY_IF_CACHED' } })
    expect((await t.get('/api/oic', { headers: { 'cache-control': 'only-if-cached' } })).status).toBe(504)
  })

  it('an expired entry with an ETag: revalidated with If-None-Match (REVALIDATED or EXPIRED)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/api/short', { headers: { 'cache-control': 'max-age=1', etag: '"s1"' }, body: 'short' })
    await t.get('/api/short')
    later(3_000)
    const r = await dryRun({ url: `${base()}/api/short` })
    expect(r.entry).toMatchObject({ fresh: false, freshForS: null, lifetimeS: 1, etag: '"s1"', staleWhileRevalidate: null })
    expect(r.entry?.staleSinceS).toBeGreaterThanOrEqual(2)
    expect(r.entry?.ageS).toBeGreaterThanOrEqual(3)
    expect(r.decision).toMatchObject({
      action: 'revalidate',
      cacheStatus: ['REVALIDATED', 'EXPIRED'],
      origin: 'conditional',
      conditional: { 'if-none-match': '"s1"' },
    })
    expect(r.decision.why).toMatch(/: stale for [\d.]+ s, so corral asks the origin whether it changed/)
    expect(r.decision.notes.join(' ')).toContain('the stale copy answers instead (staleIfDisconnected); a 5xx is passed on')
    expect((await t.get('/api/short')).cacheStatus).toBe('EXPIRED')
    expect(t.origin.seen[1]?.headers['if-none-match']).toBe('"s1"')
  })

  it('an expired entry without a validator: fetched again in full (EXPIRED); must-revalidate is said', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/api/plain', { headers: { 'cache-control': 'max-age=1, must-revalidate, stale-if-error=60' }, body: 'p' })
    await t.get('/api/plain')
    later(2_000)
    const r = await dryRun({ url: `${base()}/api/plain` })
    expect(r.entry).toMatchObject({ mustRevalidate: true, etag: null, lastModified: null, staleIfError: null })
    expect(r.decision).toMatchObject({ action: 'fetch', cacheStatus: ['EXPIRED'], origin: 'full', conditional: null })
    expect(r.decision.why).toContain('must-revalidate (or s-maxage) forbids serving it stale')
    expect(r.decision.notes.join(' ')).toContain('if the origin fails, the client gets the error')
    expect((await t.get('/api/plain')).cacheStatus).toBe('EXPIRED')
  })

  it('a stale entry within stale-while-revalidate: STALE now, refreshed in the background (not by explain)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/api/swr', { headers: { 'cache-control': 'max-age=1, stale-while-revalidate=30, stale-if-error=100', etag: '"w1"' }, body: 'w' })
    await t.get('/api/swr')
    later(5_000)
    const r = await dryRun({ url: `${base()}/api/swr` })
    expect(r.entry?.staleWhileRevalidate).toMatchObject({ seconds: 30, allowed: true })
    expect(r.entry?.staleWhileRevalidate?.leftS).toBeGreaterThan(25)
    expect(r.entry?.staleWhileRevalidate?.leftS).toBeLessThanOrEqual(26)
    expect(r.entry?.staleIfError).toMatchObject({ seconds: 100, allowed: true })
    expect(r.decision).toMatchObject({ action: 'stale', cacheStatus: ['STALE', 'UPDATING'], origin: 'background', status: 200, conditional: { 'if-none-match': '"w1"' } })
    expect(r.decision.why).toMatch(/within stale-while-revalidate for 2\d s more/)
    // Twice: explain started no refresh, so the real request is the one that starts it.
    await dryRun({ url: `${base()}/api/swr` })
    expect((await t.get('/api/swr')).cacheStatus).toBe('STALE')
    await Promise.allSettled([...t.gateway.runtime.background])
    expect(t.origin.hitsOn('/api/swr')).toBe(2)
  })

  it('a request with max-age=0 revalidates a fresh entry; the cause is the request', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/api/ma0', { headers: { 'cache-control': 'max-age=60', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }, body: 'm' })
    await t.get('/api/ma0')
    later(1_000)
    const r = await dryRun({ url: `${base()}/api/ma0`, headers: { 'cache-control': 'max-age=0' } })
    expect(r.entry?.fresh).toBe(true)
    expect(r.decision).toMatchObject({ action: 'revalidate', conditional: { 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' } })
    expect(r.decision.why).toContain("than the request's max-age=0")
  })

  it('bypassed: Authorization under a bypass rule, and the entry stored for anonymous requests is left alone', async () => {
    t.origin.on('/private/doc', { headers: { 'cache-control': 'max-age=60' }, body: 'public copy' })
    await t.get('/private/doc')
    const r = await dryRun({ url: `${base()}/private/doc`, headers: { authorization: 'Bearer abc' } })
    expect(r.route?.name).toBe('private')
    expect(r.bypass).toMatchObject({ reason: 'BYPASS_RULE', rule: { kind: 'header', name: 'authorization', equals: null } })
    expect(r.bypass?.why).toBe('the bypass rule (header authorization present) of route "private" (routes[1]) matches')
    expect(r.decision).toMatchObject({ action: 'bypass', cacheStatus: ['BYPASS'], origin: 'pass', reason: 'BYPASS_RULE' })
    expect(r.entry?.status).toBe(200)
    expect(r.decision.notes).toContain('an entry is stored for this URI, but this request does not use it')

    const q = await dryRun({ url: `${base()}/private/doc?nocache=1` })
    expect(q.bypass?.rule).toEqual({ kind: 'query', name: 'nocache', equals: '1' })
    expect(q.bypass?.why).toContain('the bypass rule (query parameter nocache equals "1")')
    const notQ = await dryRun({ url: `${base()}/private/doc?nocache=0` })
    expect(notQ.bypass).toBeNull()

    expect((await t.get('/private/doc', { headers: { authorization: 'Bearer abc' } })).cacheStatus).toBe('BYPASS')
  })

  it('Authorization without a bypass rule is not a bypass: the report says how it is treated', async () => {
    const r = await dryRun({ url: `${base()}/api/auth`, headers: { authorization: 'Bearer abc' } })
    expect(r.bypass).toBeNull()
    expect(r.decision.action).toBe('fetch')
    expect(r.decision.notes.join(' ')).toContain('stored only when the origin marks it public')
  })

  it('bypassed: a POST (method not cacheable), which would invalidate the URI', async () => {
    const r = await dryRun({ url: `${base()}/api/thing`, method: 'post' })
    expect(r.request.method).toBe('POST')
    expect(r.bypass).toMatchObject({ reason: 'METHOD', rule: null })
    expect(r.decision).toMatchObject({ action: 'bypass', cacheStatus: ['BYPASS'], reason: 'METHOD' })
    expect(r.decision.why).toBe('POST is not cacheable: only GET and HEAD requests use the cache: corral would pass the request to default (BYPASS)')
    expect(r.decision.notes.join(' ')).toContain('drops what is stored for this URI')
    expect(r.key?.uri).toBe(`GET http://${host()}/api/thing`)
  })

  it('bypassed: a route with cache: false', async () => {
    const r = await dryRun({ url: `${base()}/off/x` })
    expect(r.route).toMatchObject({ name: 'off', index: 0, cache: false })
    expect(r.bypass).toMatchObject({ reason: 'ROUTE_NO_CACHE' })
    expect(r.key).toBeNull()
    expect(r.decision).toMatchObject({ action: 'bypass', cacheStatus: ['BYPASS'], reason: 'ROUTE_NO_CACHE' })
    expect(r.decision.why).toContain('route "off" (routes[0]) has caching off (cache: false)')
    expect((await t.get('/off/x')).cacheStatus).toBe('BYPASS')
  })

  it('Vary: Accept-Language: the stored variant is a HIT, the other a MISS', async () => {
    t.origin.on('/api/lang', (req) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      body: `hello in ${String(req.headers['accept-language'])}`,
    }))
    await t.get('/api/lang', { headers: { 'accept-language': 'en' } })

    const en = await dryRun({ url: `${base()}/api/lang`, headers: { 'Accept-Language': 'en' } })
    expect(en.variant).toMatchObject({ vary: ['accept-language'], values: [{ field: 'accept-language', value: 'en' }], signature: 'accept-language=en', stored: true, tracked: 1 })
    expect(en.variant?.id.startsWith(`${en.key?.id}:v:`)).toBe(true)
    expect(en.entry).toMatchObject({ id: en.variant?.id, vary: ['accept-language'], bodyBytes: 'hello in en'.length })
    expect(en.decision.action).toBe('hit')

    const de = await dryRun({ url: `${base()}/api/lang`, headers: { 'accept-language': 'de' } })
    expect(de.key?.id).toBe(en.key?.id)
    expect(de.variant).toMatchObject({ values: [{ field: 'accept-language', value: 'de' }], stored: false, generation: en.variant?.generation })
    expect(de.variant?.id).not.toBe(en.variant?.id)
    expect(de.entry).toBeNull()
    expect(de.decision).toMatchObject({ action: 'fetch', cacheStatus: ['MISS'] })
    expect(de.decision.why).toBe('responses for this URI are stored, but not the variant this request selects, so corral fetches it from the origin (MISS)')

    const none = await dryRun({ url: `${base()}/api/lang` })
    expect(none.variant).toMatchObject({ values: [{ field: 'accept-language', value: null }], signature: 'accept-language', stored: false })

    expect((await t.get('/api/lang', { headers: { 'accept-language': 'en' } })).cacheStatus).toBe('HIT')
    expect((await t.get('/api/lang', { headers: { 'accept-language': 'de' } })).cacheStatus).toBe('MISS')
  })

  it('a route with key headers and a query ignore-list: the key shows what was dropped, sorted and selected', async () => {
    t.origin.on('/keyed/list', { headers: { 'cache-control': 'max-age=60' }, body: 'list' })
    await t.get('/keyed/list?b=2&utm_source=mail&a=1', { headers: { 'x-tenant': 'acme' } })
    expect(t.origin.seen[0]?.url).toBe('/keyed/list?a=1&b=2')

    const r = await dryRun({
      url: `${base()}/keyed/%6Cist?utm_source=news&b=2&a=1`,
      headers: { 'x-tenant': 'acme', 'x-forwarded-host': 'evil.example', 'x-original-url': '/admin' },
    })
    expect(r.route?.name).toBe('keyed')
    expect(r.key).toMatchObject({
      uri: `GET http://${host()}/keyed/list?a=1&b=2`,
      path: { received: '/keyed/%6Cist', keyed: '/keyed/list' },
      target: '/keyed/list?a=1&b=2',
      selector: [{ kind: 'header', name: 'x-tenant', value: 'acme', present: true }],
      query: { received: 'utm_source=news&b=2&a=1', keyed: 'a=1&b=2', mode: 'ignore', names: ['utm_source'], kept: ['a=1', 'b=2'], dropped: ['utm_source=news'], reordered: true },
    })
    expect(r.key?.notForwarded).toEqual(expect.arrayContaining(['x-original-url']))
    expect(r.key?.notForwarded).not.toContain('x-tenant')
    // Key headers select a variant under the URI, as Vary does.
    expect(r.variant).toMatchObject({ vary: [], values: [], stored: true })
    expect(r.decision.action).toBe('hit')

    const other = await dryRun({ url: `${base()}/keyed/list?a=1&b=2` })
    expect(other.key?.selector).toEqual([{ kind: 'header', name: 'x-tenant', value: '', present: false }])
    expect(other.variant?.stored).toBe(false)
    expect(other.decision.cacheStatus).toEqual(['MISS'])

    expect((await t.get('/keyed/%6Cist?utm_source=news&b=2&a=1', { headers: { 'x-tenant': 'acme' } })).cacheStatus).toBe('HIT')
  })

  it('an entry near the end of its lifetime on a route with early refresh: said, not done', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/early/e', { headers: { 'cache-control': 'max-age=10' }, body: 'e' })
    await t.get('/early/e')
    later(8_000)
    const r = await dryRun({ url: `${base()}/early/e` })
    expect(r.decision.action).toBe('hit')
    expect(r.decision.notes.join(' ')).toContain('early-refresh window')
  })

  it('a PURGE on a listener that accepts them: told, not done', async () => {
    t.origin.on('/api/purge-me', { headers: { 'cache-control': 'max-age=60' }, body: 'keep' })
    await t.get('/api/purge-me')
    const r = await dryRun({ url: `${base()}/api/purge-me`, method: 'PURGE' })
    expect(r.decision).toMatchObject({ action: 'purge', origin: 'none', cacheStatus: [] })
    expect(r.decision.why).toContain(`purge everything stored for http://${host()}/api/purge-me`)
    expect((await t.get('/api/purge-me')).cacheStatus).toBe('HIT')
  })

  it('no route: 404, and a malformed request: 400', async () => {
    const r = await dryRun({ url: `${base()}/nowhere` })
    expect(r.route).toBeNull()
    expect(r.key).toBeNull()
    expect(r.decision).toMatchObject({ action: 'no-route', status: 404, cacheStatus: [], error: { code: 'CORRAL_ERR_NO_ROUTE' } })
    expect(r.decision.why).toBe(`no route matches GET ${host()}/nowhere: corral would answer 404`)
    expect((await t.get('/nowhere')).status).toBe(404)

    // A path alone is keyed under localhost.
    const local = await dryRun({ url: '/api/x?y=1' })
    expect(local.request).toMatchObject({ host: 'localhost', path: '/api/x', query: 'y=1' })
    expect(local.key?.uri).toBe('GET http://localhost/api/x?y=1')

    const bad = await dryRun({ url: 'api/x' })
    expect(bad.decision).toMatchObject({ action: 'reject', status: 400, error: { code: 'CORRAL_ERR_BAD_REQUEST' } })
    const badHost = await dryRun({ url: '/api/x', headers: { host: 'a b' } })
    expect(badHost.decision).toMatchObject({ action: 'reject', status: 400 })
  })
})
