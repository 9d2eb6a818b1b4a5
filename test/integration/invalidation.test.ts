/** RFC 9111 §4.4: unsafe methods invalidate what is stored for their URI. */
import { describe, expect, it } from 'vitest'
import { useGateway } from '../helpers/gateway.js'

const t = useGateway(() => ({
  routes: [
    { name: 'per-user', match: { path: '/carts/' }, cache: { key: { cookies: ['session'] } } },
    { name: 'default', cache: true },
  ],
}))

const versioned = (_r: unknown, n: number) => ({ headers: { 'cache-control': 'max-age=60', vary: 'accept-language' }, body: `v${n}` })

describe('invalidation by unsafe methods', () => {
  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'LOCK'])('a successful %s drops the stored response for its URI', async (method) => {
    const path = `/items/${method}`
    t.origin.on(path, (r, n) => (r.method === 'GET' ? versioned(r, n) : { status: 204 }))
    await t.get(path)
    expect(await t.get(path)).toMatchObject({ cacheStatus: 'HIT' })
    expect(await t.get(path, { method, body: 'x' })).toMatchObject({ status: 204, cacheStatus: 'BYPASS' })
    expect(await t.get(path)).toMatchObject({ cacheStatus: 'MISS' })
  })

  it('an error response invalidates nothing', async () => {
    t.origin.on('/items/err', (r, n) => (r.method === 'GET' ? versioned(r, n) : { status: 500 }))
    await t.get('/items/err')
    await t.get('/items/err', { method: 'POST', body: 'x' })
    expect(await t.get('/items/err')).toMatchObject({ cacheStatus: 'HIT' })
  })

  it('reaches every variant: Vary variants and route cookie variants alike, and they stay gone', async () => {
    t.origin.on('/carts/1', (r, n) => (r.method === 'GET' ? versioned(r, n) : { status: 200, body: 'updated' }))
    const fr = { 'accept-language': 'fr', cookie: 'session=a' }
    const de = { 'accept-language': 'de', cookie: 'session=b' }
    await t.get('/carts/1', { headers: fr })
    await t.get('/carts/1', { headers: de })
    expect(await t.get('/carts/1', { headers: de })).toMatchObject({ cacheStatus: 'HIT' })
    await t.get('/carts/1', { method: 'POST', body: 'x' })
    // a new variant after the invalidation must not bring the old siblings back
    expect(await t.get('/carts/1', { headers: fr })).toMatchObject({ cacheStatus: 'MISS' })
    expect(await t.get('/carts/1', { headers: de })).toMatchObject({ cacheStatus: 'MISS' })
    expect(await t.get('/carts/1', { headers: fr })).toMatchObject({ cacheStatus: 'HIT' })
  })

  it('also drops same-host Location and Content-Location, but not other hosts', async () => {
    t.origin.on('/items', (r, n) =>
      r.method === 'GET' ? versioned(r, n) : { status: 201, headers: { location: '/items/new', 'content-location': 'http://elsewhere.example/items/other' } },
    )
    t.origin.on('/items/new', versioned)
    await t.get('/items/new')
    await t.get('/items/new', { headers: { host: 'elsewhere.example' } })
    await t.get('/items', { method: 'POST', body: 'x' })
    expect(await t.get('/items/new')).toMatchObject({ cacheStatus: 'MISS' })
    expect(await t.get('/items/new', { headers: { host: 'elsewhere.example' } })).toMatchObject({ cacheStatus: 'HIT' })
  })
})
