/** Transcripts of validation (origin 304s, client conditionals) and of serving stale. */
import { describe, expect, it, vi } from 'vitest'
import { later, useGateway } from '../helpers/gateway.js'

const t = useGateway((originUrl) => ({
  upstreams: { default: { url: originUrl, headersTimeout: '300ms' } },
  routes: [
    { name: 'sie', match: { path: '/sie/' }, cache: { staleIfError: '1m' } },
    { name: 'sie-5xx-rule', match: { path: '/sie-rule/' }, cache: { staleIfError: '1m', statusTtl: { '5xx': '10s' } } },
    { name: 'connected', match: { path: '/connected/' }, cache: { staleIfDisconnected: 0 } },
    { name: 'per-user', match: { path: '/per-user/' }, cache: { key: { cookies: ['session'] } } },
    { name: 'default', cache: true },
  ],
}))

/** Wait until the gateway's background refreshes have finished. */
async function settled(): Promise<void> {
  await Promise.allSettled([...t.gateway.runtime.background])
}

describe('revalidation with the origin', () => {
  it('a stale entry with an ETag is revalidated; the 304 refreshes it (REVALIDATED)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/etag', (r) =>
      r.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=5', 'x-version': 'fresh' } }
        : { headers: { etag: '"v1"', 'cache-control': 'max-age=1', 'x-version': 'first' }, body: 'body-v1' },
    )
    expect(await t.get('/etag')).toMatchObject({ cacheStatus: 'MISS', body: 'body-v1' })
    later(1_500)
    const revalidated = await t.get('/etag')
    expect(revalidated).toMatchObject({ status: 200, cacheStatus: 'REVALIDATED', body: 'body-v1' })
    expect(revalidated.headers['x-version']).toBe('fresh')
    expect(revalidated.cacheStatusHeader).toContain('fwd=stale; fwd-status=304')
    expect(t.origin.seen[1]?.headers['if-none-match']).toBe('"v1"')
    later(3_000)
    expect(await t.get('/etag')).toMatchObject({ cacheStatus: 'HIT', body: 'body-v1' })
    expect(t.origin.hitsOn('/etag')).toBe(2)
  })

  it('revalidates with If-Modified-Since when there is only Last-Modified', async () => {
    const lm = 'Wed, 21 Oct 2026 07:28:00 GMT'
    t.origin.on('/lm', (r) =>
      r.headers['if-modified-since'] === lm
        ? { status: 304, headers: { 'last-modified': lm } }
        : { headers: { 'last-modified': lm, 'cache-control': 'max-age=0' }, body: 'lm-body' },
    )
    await t.get('/lm')
    expect(await t.get('/lm')).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'lm-body' })
  })

  it('a changed object comes back as 200 and replaces the entry (EXPIRED)', async () => {
    t.origin.on('/changed', (_r, n) => ({ headers: { etag: `"v${n}"`, 'cache-control': 'max-age=0' }, body: `v${n}` }))
    await t.get('/changed')
    expect(await t.get('/changed')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
    expect(t.origin.seen[1]?.headers['if-none-match']).toBe('"v1"')
  })

  it('a 304 carrying another strong ETag does not refresh the entry: the object is fetched again', async () => {
    t.origin.on('/etag-moved', (r) =>
      r.headers['if-none-match'] !== undefined
        ? { status: 304, headers: { etag: '"other"' } }
        : { headers: { etag: `"v${t.origin.hitsOn('/etag-moved')}"`, 'cache-control': 'max-age=0' }, body: `body-${t.origin.hitsOn('/etag-moved')}` },
    )
    await t.get('/etag-moved')
    const res = await t.get('/etag-moved')
    expect(res).toMatchObject({ cacheStatus: 'EXPIRED', body: 'body-3' })
    expect(t.origin.seen.map((r) => r.headers['if-none-match'])).toEqual([undefined, '"v1"', undefined])
  })

  it('a 304 with a strong ETag refreshes every variant carrying it, not only the one it answered (RFC 9111 §4.3.4)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const etagFor = (language: unknown) => (language === 'it' ? '"it-only"' : '"shared"')
    t.origin.on('/variants', (r) =>
      r.headers['if-none-match'] === etagFor(r.headers['accept-language'])
        ? { status: 304, headers: { etag: etagFor(r.headers['accept-language']), 'cache-control': 'max-age=60', 'x-version': '2' } }
        : {
            headers: { etag: etagFor(r.headers['accept-language']), vary: 'accept-language', 'cache-control': 'max-age=1', 'x-version': '1' },
            body: `body-${String(r.headers['accept-language'])}`,
          },
    )
    for (const language of ['fr', 'de', 'it']) await t.get('/variants', { headers: { 'accept-language': language } })
    later(1_500)
    expect(await t.get('/variants', { headers: { 'accept-language': 'fr' } })).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'body-fr' })
    await settled()
    const de = await t.get('/variants', { headers: { 'accept-language': 'de' } })
    expect(de).toMatchObject({ cacheStatus: 'HIT', body: 'body-de' })
    expect(de.headers['x-version']).toBe('2')
    // another ETag, another representation: not selected by that 304
    expect(await t.get('/variants', { headers: { 'accept-language': 'it' } })).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'body-it' })
    expect(t.origin.hitsOn('/variants')).toBe(5)
  })

  it('a 304 never refreshes the copy stored for another route-key selector (another user\'s cookie)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/per-user/me', (r) => {
      const user = String(r.headers.cookie).replace('session=', '')
      return r.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=60', 'x-user': user } }
        : { headers: { etag: '"v1"', 'cache-control': 'max-age=1', 'x-user': user }, body: `body-${user}` }
    })
    await t.get('/per-user/me', { headers: { cookie: 'session=alice' } })
    await t.get('/per-user/me', { headers: { cookie: 'session=bob' } })
    later(1_500)
    expect(await t.get('/per-user/me', { headers: { cookie: 'session=alice' } })).toMatchObject({ cacheStatus: 'REVALIDATED' })
    await settled()
    const bob = await t.get('/per-user/me', { headers: { cookie: 'session=bob' } })
    expect(bob).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'body-bob' })
    expect(bob.headers['x-user']).toBe('bob')
  })

  it('a 304 never brings back a field a targeted private="…" keeps out of the entry', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/targeted-private', (r) =>
      r.headers['if-none-match'] === '"t"'
        ? { status: 304, headers: { etag: '"t"', 'x-user': 'bob' } }
        : { headers: { etag: '"t"', 'cdn-cache-control': 'private="x-user", max-age=1', 'x-user': 'alice' }, body: 'shared' },
    )
    expect((await t.get('/targeted-private')).headers['x-user']).toBe('alice')
    later(1_500)
    const revalidated = await t.get('/targeted-private')
    expect(revalidated).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'shared' })
    expect(revalidated.headers['x-user']).toBe('bob')
    const hit = await t.get('/targeted-private')
    expect(hit).toMatchObject({ cacheStatus: 'HIT', body: 'shared' })
    expect(hit.headers['x-user']).toBeUndefined()
  })

  it.each([
    ['no-store', { 'cache-control': 'no-cache, no-store' }],
    ['Authorization', { 'cache-control': 'no-cache', authorization: 'Bearer x' }],
  ])('a revalidation by a request that may not store (%s) leaves the entry for everyone else', async (_what, headers) => {
    const path = `/keep-entry-${_what}`
    t.origin.on(path, (r) =>
      r.headers['if-none-match'] === '"k"' ? { status: 304, headers: { etag: '"k"' } } : { headers: { etag: '"k"', 'cache-control': 'max-age=60' }, body: 'kept' },
    )
    await t.get(path)
    expect(await t.get(path, { headers })).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'kept' })
    expect(await t.get(path)).toMatchObject({ cacheStatus: 'HIT', body: 'kept' })
    expect(t.origin.hitsOn(path)).toBe(2)
  })

  it('the Age a 304 carries counts: the refreshed entry is fresh for max-age minus it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/age-304', (r) =>
      r.headers['if-none-match'] === '"a"'
        ? { status: 304, headers: { etag: '"a"', 'cache-control': 'max-age=60', age: '50' } }
        : { headers: { etag: '"a"', 'cache-control': 'max-age=1' }, body: 'aged' },
    )
    await t.get('/age-304')
    later(1_500)
    expect(await t.get('/age-304')).toMatchObject({ cacheStatus: 'REVALIDATED' })
    later(5_000)
    expect(await t.get('/age-304')).toMatchObject({ cacheStatus: 'HIT' })
    later(6_000)
    expect(await t.get('/age-304')).toMatchObject({ cacheStatus: 'REVALIDATED' })
  })

  it('a response with no-cache is stored but validated before every use', async () => {
    t.origin.on('/nc', (r) =>
      r.headers['if-none-match'] === '"n"' ? { status: 304, headers: { etag: '"n"' } } : { headers: { etag: '"n"', 'cache-control': 'no-cache' }, body: 'nc' },
    )
    expect(await t.get('/nc')).toMatchObject({ cacheStatus: 'MISS' })
    expect(await t.get('/nc')).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'nc' })
    expect(await t.get('/nc')).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'nc' })
    expect(t.origin.hitsOn('/nc')).toBe(3)
  })

  it('a request with no-cache (or Pragma: no-cache) makes the cache validate first', async () => {
    t.origin.on('/force', (r) =>
      r.headers['if-none-match'] === '"f"' ? { status: 304, headers: { etag: '"f"' } } : { headers: { etag: '"f"', 'cache-control': 'max-age=60' }, body: 'f' },
    )
    await t.get('/force')
    expect(await t.get('/force')).toMatchObject({ cacheStatus: 'HIT' })
    const forced = await t.get('/force', { headers: { 'cache-control': 'no-cache' } })
    expect(forced).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'f' })
    expect(forced.cacheStatusHeader).toContain('fwd=request')
    expect(await t.get('/force', { headers: { pragma: 'no-cache' } })).toMatchObject({ cacheStatus: 'REVALIDATED' })
  })

  it('request max-age and min-fresh make a fresh entry unacceptable', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/rmax', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `v${n}` }))
    await t.get('/rmax')
    later(10_000)
    expect(await t.get('/rmax', { headers: { 'cache-control': 'max-age=5' } })).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
    expect(await t.get('/rmax', { headers: { 'cache-control': 'min-fresh=100' } })).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v3' })
    expect(await t.get('/rmax')).toMatchObject({ cacheStatus: 'HIT', body: 'v3' })
  })

  it('only-if-cached: 504 when nothing is stored, the entry when it is', async () => {
    t.origin.on('/oic', { headers: { 'cache-control': 'max-age=60' }, body: 'cached' })
    expect(await t.get('/oic', { headers: { 'cache-control': 'only-if-cached' } })).toMatchObject({ status: 504 })
    expect(t.origin.hits).toBe(0)
    await t.get('/oic')
    expect(await t.get('/oic', { headers: { 'cache-control': 'only-if-cached' } })).toMatchObject({ status: 200, cacheStatus: 'HIT' })
  })
})

describe('client conditionals answered from the cache', () => {
  it('If-None-Match that matches (weakly) gets 304 on a HIT', async () => {
    t.origin.on('/cond', { headers: { etag: 'W/"c1"', 'cache-control': 'max-age=60' }, body: 'cond' })
    await t.get('/cond')
    const res = await t.get('/cond', { headers: { 'if-none-match': '"x", "c1"' } })
    expect(res).toMatchObject({ status: 304, cacheStatus: 'HIT', body: '' })
    expect(res.headers.etag).toBe('W/"c1"')
    expect(await t.get('/cond', { headers: { 'if-none-match': '"other"' } })).toMatchObject({ status: 200, body: 'cond' })
    expect(t.origin.hitsOn('/cond')).toBe(1)
  })

  it('If-Modified-Since at or after Last-Modified gets 304; the client conditional is not sent to the origin', async () => {
    const lm = 'Wed, 21 Oct 2026 07:28:00 GMT'
    t.origin.on('/ims', { headers: { 'last-modified': lm, 'cache-control': 'max-age=60' }, body: 'ims' })
    const first = await t.get('/ims', { headers: { 'if-modified-since': lm } })
    expect(first).toMatchObject({ status: 304, cacheStatus: 'MISS' })
    expect(t.origin.seen[0]?.headers['if-modified-since']).toBeUndefined()
    expect(await t.get('/ims', { headers: { 'if-modified-since': 'Tue, 20 Oct 2026 07:28:00 GMT' } })).toMatchObject({ status: 200, body: 'ims' })
  })

  it('a failed If-Match gets 412', async () => {
    t.origin.on('/im', { headers: { etag: '"a"', 'cache-control': 'max-age=60' }, body: 'im' })
    await t.get('/im')
    expect(await t.get('/im', { headers: { 'if-match': '"b"' } })).toMatchObject({ status: 412 })
  })
})

describe('stale-while-revalidate', () => {
  it('serves STALE at once, refreshes once in the background, UPDATING meanwhile, then HIT', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/swr', (_r, n) => ({ headers: { 'cache-control': 'max-age=1, stale-while-revalidate=30' }, body: `v${n}` }))
    await t.get('/swr')
    later(1_500)
    const open = t.origin.closeGate()
    expect(await t.get('/swr')).toMatchObject({ cacheStatus: 'STALE', body: 'v1' })
    expect(await t.get('/swr')).toMatchObject({ cacheStatus: 'UPDATING', body: 'v1' })
    expect(await t.get('/swr')).toMatchObject({ cacheStatus: 'UPDATING', body: 'v1' })
    open()
    await settled()
    expect(await t.get('/swr')).toMatchObject({ cacheStatus: 'HIT', body: 'v2' })
    expect(t.origin.hitsOn('/swr')).toBe(2)
  })

  it('past the window the entry is fetched again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/swr-late', (_r, n) => ({ headers: { 'cache-control': 'max-age=1, stale-while-revalidate=2' }, body: `v${n}` }))
    await t.get('/swr-late')
    later(4_000)
    expect(await t.get('/swr-late')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
  })

  it('must-revalidate forbids it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/swr-mr', (_r, n) => ({ headers: { 'cache-control': 'max-age=1, stale-while-revalidate=30, must-revalidate' }, body: `v${n}` }))
    await t.get('/swr-mr')
    later(1_500)
    expect(await t.get('/swr-mr')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
  })
})

describe('stale-if-error', () => {
  it.each([
    ['a 500', { status: 500, body: 'boom' }],
    ['a 503', { status: 503, body: 'down' }],
    ['a dropped connection', { hangUp: true }],
    ['a timeout', { delayMs: 600, body: 'slow' }],
  ])('serves the stale copy on %s', async (name, failure) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const path = `/sie/${name.replace(/ /g, '-')}`
    t.origin.on(path, (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1, stale-if-error=60' }, body: 'good' } : failure))
    await t.get(path)
    later(2_000)
    const res = await t.get(path)
    expect(res).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
    expect(res.cacheStatusHeader).toContain('detail=stale-if-error')
  })

  it('uses the route default window when the origin sends none', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/sie/route', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1' }, body: 'good' } : { status: 502 }))
    await t.get('/sie/route')
    later(30_000)
    expect(await t.get('/sie/route')).toMatchObject({ cacheStatus: 'STALE', body: 'good' })
  })

  it('must-revalidate and s-maxage forbid it: the error goes through', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/sie/mr', (_r, n) =>
      n === 1 ? { headers: { 'cache-control': 'max-age=1, must-revalidate, stale-if-error=60' }, body: 'good' } : { status: 500, body: 'boom' },
    )
    t.origin.on('/sie/sm', (_r, n) => (n === 1 ? { headers: { 'cache-control': 's-maxage=1, stale-if-error=60' }, body: 'good' } : { hangUp: true }))
    await t.get('/sie/mr')
    await t.get('/sie/sm')
    later(2_000)
    expect(await t.get('/sie/mr')).toMatchObject({ status: 500, body: 'boom' })
    expect(await t.get('/sie/sm')).toMatchObject({ status: 502 })
  })

  it.each([
    ['its own max-age', '/sie/5xx-fresh', { 'cache-control': 'max-age=60' }],
    ['a route statusTtl rule', '/sie-rule/5xx', {}],
  ])('a 5xx stored by %s does not replace a stale copy that stale-if-error may answer', async (_name, path, headers) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on(path, (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1' }, body: 'good' } : { status: 503, headers, body: `down${n}` }))
    await t.get(path)
    later(2_000)
    const stale = await t.get(path)
    expect(stale).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
    expect(stale.cacheStatusHeader).toMatch(/^corral; fwd=stale; fwd-status=503; ttl=-\d+; detail=stale-if-error$/)
    // The 503 was not stored over it: the next request asks the origin again and is answered stale again.
    expect(await t.get(path)).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
    expect(t.origin.hitsOn(path)).toBe(3)
  })

  it('without stale-if-error, a 5xx with max-age replaces the stale entry like any response', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/5xx-replaces', (_r, n) =>
      n === 1 ? { headers: { 'cache-control': 'max-age=1' }, body: 'good' } : { status: 503, headers: { 'cache-control': 'max-age=60' }, body: `down${n}` },
    )
    await t.get('/5xx-replaces')
    later(2_000)
    expect(await t.get('/5xx-replaces')).toMatchObject({ status: 503, cacheStatus: 'EXPIRED', body: 'down2' })
    expect(await t.get('/5xx-replaces')).toMatchObject({ status: 503, cacheStatus: 'HIT', body: 'down2' })
  })

  it('without a stale copy an unreachable origin is a 502 and a slow one a 504', async () => {
    t.origin.on('/sie/none-down', { hangUp: true })
    t.origin.on('/sie/none-slow', { delayMs: 600 })
    const down = await t.get('/sie/none-down')
    expect(down.status).toBe(502)
    expect(down.body).toContain('CORRAL_ERR_ORIGIN_UNREACHABLE')
    const slow = await t.get('/sie/none-slow')
    expect(slow.status).toBe(504)
    expect(slow.body).toContain('CORRAL_ERR_ORIGIN_TIMEOUT')
  })
})

describe('disconnected: a stale copy when the origin cannot be reached (RFC 9111 §4.2.4)', () => {
  const stored = { headers: { 'cache-control': 'max-age=1' }, body: 'good' }

  it.each([
    ['a dropped connection', { hangUp: true }],
    ['a timeout', { delayMs: 600, body: 'slow' }],
    ['a response broken off mid-body', { breakOff: true, headers: { 'cache-control': 'max-age=60' }, body: 'x'.repeat(1_000) }],
  ])('serves the stale copy on %s, without any stale-if-error (STALE, detail=stale-if-disconnected)', async (name, failure) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const path = `/dc/${name.replace(/ /g, '-')}`
    t.origin.on(path, (_r, n) => (n === 1 ? stored : failure))
    await t.get(path)
    later(2_000)
    const res = await t.get(path)
    expect(res).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good', age: 2 })
    expect(res.cacheStatusHeader).toMatch(/^corral; fwd=stale; ttl=-\d+; detail=stale-if-disconnected$/)
  })

  it('an origin 5xx is an answer, not a disconnection: it goes through', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/dc/503', (_r, n) => (n === 1 ? stored : { status: 503, body: 'down' }))
    await t.get('/dc/503')
    later(2_000)
    expect(await t.get('/dc/503')).toMatchObject({ status: 503, cacheStatus: 'EXPIRED', body: 'down' })
  })

  it('lasts 5 minutes past staleness by default; then the error goes through', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/dc/window', (_r, n) => (n === 1 ? stored : { hangUp: true }))
    await t.get('/dc/window')
    later(300_000) // stale for 299 s and a fraction
    expect(await t.get('/dc/window')).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
    later(1_000) // stale for 300 s or more: past the window, though the entry is still retained
    const late = await t.get('/dc/window')
    expect(late.status).toBe(502)
    expect(late.body).toContain('CORRAL_ERR_ORIGIN_UNREACHABLE')
  })

  it.each([
    ['must-revalidate', 'max-age=1, must-revalidate'],
    ['proxy-revalidate', 'max-age=1, proxy-revalidate'],
    ['s-maxage', 's-maxage=1'],
    ['no-cache', 'max-age=1, no-cache'],
  ])('never when %s forbids stale serving: the error goes through', async (name, cc) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const path = `/dc/forbidden-${name}`
    t.origin.on(path, (_r, n) => (n === 1 ? { headers: { 'cache-control': cc }, body: 'good' } : { hangUp: true }))
    await t.get(path)
    later(2_000)
    expect(await t.get(path)).toMatchObject({ status: 502 })
  })

  it('stale-if-error comes first; past its window, the disconnected window still answers a dropped connection', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/dc/after-sie', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1, stale-if-error=5' }, body: 'good' } : { hangUp: true }))
    await t.get('/dc/after-sie')
    later(2_000)
    expect((await t.get('/dc/after-sie')).cacheStatusHeader).toContain('detail=stale-if-error')
    later(10_000)
    const res = await t.get('/dc/after-sie')
    expect(res).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
    expect(res.cacheStatusHeader).toContain('detail=stale-if-disconnected')
  })

  it("a route's staleIfDisconnected: 0 turns it off", async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/connected/x', (_r, n) => (n === 1 ? stored : { hangUp: true }))
    await t.get('/connected/x')
    later(2_000)
    expect(await t.get('/connected/x')).toMatchObject({ status: 502 })
  })
})
