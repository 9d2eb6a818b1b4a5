/** Transcripts of validation (origin 304s, client conditionals) and of serving stale. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Gateway } from '../../src/gateway.js'
import { Origin } from '../helpers/origin.js'
import { client, startTestGateway, testConfig, type Got } from '../helpers/gateway.js'

let origin: Origin
let gateway: Gateway
let get: (path: string, init?: { method?: string; headers?: Record<string, string> }) => Promise<Got>

beforeAll(async () => {
  origin = await Origin.start()
  gateway = await startTestGateway(
    testConfig(origin.url, {
      upstreams: { default: { url: origin.url, headersTimeout: '300ms' } },
      routes: [
        { name: 'sie', match: { path: '/sie/' }, cache: { staleIfError: '1m' } },
        { name: 'default', cache: true },
      ],
    }),
  )
  get = client(gateway.urls[0]!)
})
afterAll(async () => {
  await gateway.close()
  await origin.close()
})
afterEach(() => {
  vi.useRealTimers()
  origin.reset()
})

function later(ms: number): void {
  vi.setSystemTime(Date.now() + ms)
}

/** Wait until the gateway's background refreshes have finished. */
async function settled(): Promise<void> {
  await Promise.allSettled([...gateway.runtime.background])
}

describe('revalidation with the origin', () => {
  it('a stale entry with an ETag is revalidated; the 304 refreshes it (REVALIDATED)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    origin.on('/etag', (r) =>
      r.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=5', 'x-version': 'fresh' } }
        : { headers: { etag: '"v1"', 'cache-control': 'max-age=1', 'x-version': 'first' }, body: 'body-v1' },
    )
    expect(await get('/etag')).toMatchObject({ cacheStatus: 'MISS', body: 'body-v1' })
    later(1_500)
    const revalidated = await get('/etag')
    expect(revalidated).toMatchObject({ status: 200, cacheStatus: 'REVALIDATED', body: 'body-v1' })
    expect(revalidated.headers['x-version']).toBe('fresh')
    expect(revalidated.cacheStatusHeader).toContain('fwd=stale; fwd-status=304')
    expect(origin.seen[1]?.headers['if-none-match']).toBe('"v1"')
    later(3_000)
    expect(await get('/etag')).toMatchObject({ cacheStatus: 'HIT', body: 'body-v1' })
    expect(origin.hitsOn('/etag')).toBe(2)
  })

  it('revalidates with If-Modified-Since when there is only Last-Modified', async () => {
    const lm = 'Wed, 21 Oct 2026 07:28:00 GMT'
    origin.on('/lm', (r) =>
      r.headers['if-modified-since'] === lm
        ? { status: 304, headers: { 'last-modified': lm } }
        : { headers: { 'last-modified': lm, 'cache-control': 'max-age=0' }, body: 'lm-body' },
    )
    await get('/lm')
    expect(await get('/lm')).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'lm-body' })
  })

  it('a changed object comes back as 200 and replaces the entry (EXPIRED)', async () => {
    origin.on('/changed', (_r, n) => ({ headers: { etag: `"v${n}"`, 'cache-control': 'max-age=0' }, body: `v${n}` }))
    await get('/changed')
    expect(await get('/changed')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
    expect(origin.seen[1]?.headers['if-none-match']).toBe('"v1"')
  })

  it('a response with no-cache is stored but validated before every use', async () => {
    origin.on('/nc', (r) =>
      r.headers['if-none-match'] === '"n"' ? { status: 304, headers: { etag: '"n"' } } : { headers: { etag: '"n"', 'cache-control': 'no-cache' }, body: 'nc' },
    )
    expect(await get('/nc')).toMatchObject({ cacheStatus: 'MISS' })
    expect(await get('/nc')).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'nc' })
    expect(await get('/nc')).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'nc' })
    expect(origin.hitsOn('/nc')).toBe(3)
  })

  it('a request with no-cache (or Pragma: no-cache) makes the cache validate first', async () => {
    origin.on('/force', (r) =>
      r.headers['if-none-match'] === '"f"' ? { status: 304, headers: { etag: '"f"' } } : { headers: { etag: '"f"', 'cache-control': 'max-age=60' }, body: 'f' },
    )
    await get('/force')
    expect(await get('/force')).toMatchObject({ cacheStatus: 'HIT' })
    const forced = await get('/force', { headers: { 'cache-control': 'no-cache' } })
    expect(forced).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'f' })
    expect(forced.cacheStatusHeader).toContain('fwd=request')
    expect(await get('/force', { headers: { pragma: 'no-cache' } })).toMatchObject({ cacheStatus: 'REVALIDATED' })
  })

  it('request max-age and min-fresh make a fresh entry unacceptable', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    origin.on('/rmax', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `v${n}` }))
    await get('/rmax')
    later(10_000)
    expect(await get('/rmax', { headers: { 'cache-control': 'max-age=5' } })).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
    expect(await get('/rmax', { headers: { 'cache-control': 'min-fresh=100' } })).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v3' })
    expect(await get('/rmax')).toMatchObject({ cacheStatus: 'HIT', body: 'v3' })
  })

  it('only-if-cached: 504 when nothing is stored, the entry when it is', async () => {
    origin.on('/oic', { headers: { 'cache-control': 'max-age=60' }, body: 'cached' })
    expect(await get('/oic', { headers: { 'cache-control': 'only-if-cached' } })).toMatchObject({ status: 504 })
    expect(origin.hits).toBe(0)
    await get('/oic')
    expect(await get('/oic', { headers: { 'cache-control': 'only-if-cached' } })).toMatchObject({ status: 200, cacheStatus: 'HIT' })
  })
})

describe('client conditionals answered from the cache', () => {
  it('If-None-Match that matches (weakly) gets 304 on a HIT', async () => {
    origin.on('/cond', { headers: { etag: 'W/"c1"', 'cache-control': 'max-age=60' }, body: 'cond' })
    await get('/cond')
    const res = await get('/cond', { headers: { 'if-none-match': '"x", "c1"' } })
    expect(res).toMatchObject({ status: 304, cacheStatus: 'HIT', body: '' })
    expect(res.headers.etag).toBe('W/"c1"')
    expect(await get('/cond', { headers: { 'if-none-match': '"other"' } })).toMatchObject({ status: 200, body: 'cond' })
    expect(origin.hitsOn('/cond')).toBe(1)
  })

  it('If-Modified-Since at or after Last-Modified gets 304; the client conditional is not sent to the origin', async () => {
    const lm = 'Wed, 21 Oct 2026 07:28:00 GMT'
    origin.on('/ims', { headers: { 'last-modified': lm, 'cache-control': 'max-age=60' }, body: 'ims' })
    const first = await get('/ims', { headers: { 'if-modified-since': lm } })
    expect(first).toMatchObject({ status: 304, cacheStatus: 'MISS' })
    expect(origin.seen[0]?.headers['if-modified-since']).toBeUndefined()
    expect(await get('/ims', { headers: { 'if-modified-since': 'Tue, 20 Oct 2026 07:28:00 GMT' } })).toMatchObject({ status: 200, body: 'ims' })
  })

  it('a failed If-Match gets 412', async () => {
    origin.on('/im', { headers: { etag: '"a"', 'cache-control': 'max-age=60' }, body: 'im' })
    await get('/im')
    expect(await get('/im', { headers: { 'if-match': '"b"' } })).toMatchObject({ status: 412 })
  })
})

describe('stale-while-revalidate', () => {
  it('serves STALE at once, refreshes once in the background, UPDATING meanwhile, then HIT', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    origin.on('/swr', (_r, n) => ({ headers: { 'cache-control': 'max-age=1, stale-while-revalidate=30' }, body: `v${n}` }))
    await get('/swr')
    later(1_500)
    const open = origin.closeGate()
    expect(await get('/swr')).toMatchObject({ cacheStatus: 'STALE', body: 'v1' })
    expect(await get('/swr')).toMatchObject({ cacheStatus: 'UPDATING', body: 'v1' })
    expect(await get('/swr')).toMatchObject({ cacheStatus: 'UPDATING', body: 'v1' })
    open()
    await settled()
    expect(await get('/swr')).toMatchObject({ cacheStatus: 'HIT', body: 'v2' })
    expect(origin.hitsOn('/swr')).toBe(2)
  })

  it('past the window the entry is fetched again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    origin.on('/swr-late', (_r, n) => ({ headers: { 'cache-control': 'max-age=1, stale-while-revalidate=2' }, body: `v${n}` }))
    await get('/swr-late')
    later(4_000)
    expect(await get('/swr-late')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
  })

  it('must-revalidate forbids it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    origin.on('/swr-mr', (_r, n) => ({ headers: { 'cache-control': 'max-age=1, stale-while-revalidate=30, must-revalidate' }, body: `v${n}` }))
    await get('/swr-mr')
    later(1_500)
    expect(await get('/swr-mr')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
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
    origin.on(path, (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1, stale-if-error=60' }, body: 'good' } : failure))
    await get(path)
    later(2_000)
    const res = await get(path)
    expect(res).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
    expect(res.cacheStatusHeader).toContain('detail=stale-if-error')
  })

  it('uses the route default window when the origin sends none', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    origin.on('/sie/route', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1' }, body: 'good' } : { status: 502 }))
    await get('/sie/route')
    later(30_000)
    expect(await get('/sie/route')).toMatchObject({ cacheStatus: 'STALE', body: 'good' })
  })

  it('must-revalidate and s-maxage forbid it: the error goes through', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    origin.on('/sie/mr', (_r, n) =>
      n === 1 ? { headers: { 'cache-control': 'max-age=1, must-revalidate, stale-if-error=60' }, body: 'good' } : { status: 500, body: 'boom' },
    )
    origin.on('/sie/sm', (_r, n) => (n === 1 ? { headers: { 'cache-control': 's-maxage=1, stale-if-error=60' }, body: 'good' } : { hangUp: true }))
    await get('/sie/mr')
    await get('/sie/sm')
    later(2_000)
    expect(await get('/sie/mr')).toMatchObject({ status: 500, body: 'boom' })
    expect(await get('/sie/sm')).toMatchObject({ status: 502 })
  })

  it('without a stale copy an unreachable origin is a 502 and a slow one a 504', async () => {
    origin.on('/sie/none-down', { hangUp: true })
    origin.on('/sie/none-slow', { delayMs: 600 })
    const down = await get('/sie/none-down')
    expect(down.status).toBe(502)
    expect(down.body).toContain('CORRAL_ERR_ORIGIN_UNREACHABLE')
    const slow = await get('/sie/none-slow')
    expect(slow.status).toBe(504)
    expect(slow.body).toContain('CORRAL_ERR_ORIGIN_TIMEOUT')
  })
})
