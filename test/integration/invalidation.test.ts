/** RFC 9111 §4.4: unsafe methods invalidate what is stored for their URI. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/gateway.js'
import { Origin } from '../helpers/origin.js'
import { client, startTestGateway, testConfig, type Got } from '../helpers/gateway.js'

let origin: Origin
let gateway: Gateway
let get: (path: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<Got>

beforeAll(async () => {
  origin = await Origin.start()
  gateway = await startTestGateway(
    testConfig(origin.url, {
      routes: [
        { name: 'per-user', match: { path: '/carts/' }, cache: { key: { cookies: ['session'] } } },
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
afterEach(() => origin.reset())

const versioned = (_r: unknown, n: number) => ({ headers: { 'cache-control': 'max-age=60', vary: 'accept-language' }, body: `v${n}` })

describe('invalidation by unsafe methods', () => {
  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'LOCK'])('a successful %s drops the stored response for its URI', async (method) => {
    const path = `/items/${method}`
    origin.on(path, (r, n) => (r.method === 'GET' ? versioned(r, n) : { status: 204 }))
    await get(path)
    expect(await get(path)).toMatchObject({ cacheStatus: 'HIT' })
    expect(await get(path, { method, body: 'x' })).toMatchObject({ status: 204, cacheStatus: 'BYPASS' })
    expect(await get(path)).toMatchObject({ cacheStatus: 'MISS' })
  })

  it('an error response invalidates nothing', async () => {
    origin.on('/items/err', (r, n) => (r.method === 'GET' ? versioned(r, n) : { status: 500 }))
    await get('/items/err')
    await get('/items/err', { method: 'POST', body: 'x' })
    expect(await get('/items/err')).toMatchObject({ cacheStatus: 'HIT' })
  })

  it('reaches every variant: Vary variants and route cookie variants alike, and they stay gone', async () => {
    origin.on('/carts/1', (r, n) => (r.method === 'GET' ? versioned(r, n) : { status: 200, body: 'updated' }))
    const fr = { 'accept-language': 'fr', cookie: 'session=a' }
    const de = { 'accept-language': 'de', cookie: 'session=b' }
    await get('/carts/1', { headers: fr })
    await get('/carts/1', { headers: de })
    expect(await get('/carts/1', { headers: de })).toMatchObject({ cacheStatus: 'HIT' })
    await get('/carts/1', { method: 'POST', body: 'x' })
    // a new variant after the invalidation must not bring the old siblings back
    expect(await get('/carts/1', { headers: fr })).toMatchObject({ cacheStatus: 'MISS' })
    expect(await get('/carts/1', { headers: de })).toMatchObject({ cacheStatus: 'MISS' })
    expect(await get('/carts/1', { headers: fr })).toMatchObject({ cacheStatus: 'HIT' })
  })

  it('also drops same-host Location and Content-Location, but not other hosts', async () => {
    origin.on('/items', (r, n) =>
      r.method === 'GET' ? versioned(r, n) : { status: 201, headers: { location: '/items/new', 'content-location': 'http://elsewhere.example/items/other' } },
    )
    origin.on('/items/new', versioned)
    await get('/items/new')
    await get('/items/new', { headers: { host: 'elsewhere.example' } })
    await get('/items', { method: 'POST', body: 'x' })
    expect(await get('/items/new')).toMatchObject({ cacheStatus: 'MISS' })
    expect(await get('/items/new', { headers: { host: 'elsewhere.example' } })).toMatchObject({ cacheStatus: 'HIT' })
  })
})
