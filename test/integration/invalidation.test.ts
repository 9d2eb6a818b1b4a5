/** RFC 9111 §4.4: unsafe methods invalidate what is stored for their URI; RFC 9110 §9.3.3: a POST response may answer later GETs. */
import { describe, expect, it } from 'vitest'
import { useGateway } from '../helpers/gateway.js'

const t = useGateway(() => ({
  routes: [
    { name: 'per-user', match: { path: '/carts/' }, cache: { key: { cookies: ['session'] } } },
    { name: 'small', match: { path: '/small/' }, cache: { maxObjectSize: '16B' } },
    { name: 'ttl', match: { path: '/ttl/' }, cache: { ttl: '1m' } },
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

describe('a POST response reused for GET (RFC 9110 §9.3.3)', () => {
  /** The origin answers POST with `post` (status 200 unless given) and GET with a numbered body. */
  const postThen = (post: { status?: number; headers: Record<string, string>; body: string }) => (r: { method: string }, n: number) =>
    r.method === 'POST' ? { status: 200, ...post } : { headers: { 'cache-control': 'max-age=60' }, body: `get ${n}` }

  it('explicit freshness and Content-Location naming the POST\'s own URI: the next GET is a HIT with the POST\'s answer', async () => {
    t.origin.on('/posts/own', postThen({ headers: { 'cache-control': 'max-age=60', 'content-location': '/posts/own' }, body: 'from post' }))
    expect(await t.get('/posts/own', { method: 'POST', body: 'x' })).toMatchObject({ status: 200, cacheStatus: 'BYPASS', body: 'from post' })
    expect(await t.get('/posts/own')).toMatchObject({ status: 200, cacheStatus: 'HIT', body: 'from post' })
    expect(t.origin.seen.map((r) => r.method)).toEqual(['POST'])
  })

  it('the stored answer is the origin\'s, not what the pass path made of it for the POST\'s client', async () => {
    t.origin.on(
      '/posts/fields',
      postThen({ headers: { 'cache-control': 'max-age=60', 'content-location': '/posts/fields', 'cache-status': 'upstream; hit' }, body: 'p' }),
    )
    const post = await t.get('/posts/fields', { method: 'POST', body: 'x' })
    expect(post.cacheStatusHeader).toBe('upstream; hit, corral; fwd=method; detail=method')
    const hit = await t.get('/posts/fields')
    expect(hit.cacheStatus).toBe('HIT')
    expect(hit.cacheStatusHeader).toMatch(/^upstream; hit, corral; hit; ttl=\d+$/)
  })

  it('an absolute Content-Location with the same URI counts too; the query is part of the URI', async () => {
    const own = { 'cache-control': 'max-age=60', 'content-location': 'http://localhost/posts/q?a=1' }
    t.origin.on('/posts/q', postThen({ headers: own, body: 'from post' }))
    await t.get('/posts/q?a=1', { method: 'POST', body: 'x', headers: { host: 'localhost' } })
    expect(await t.get('/posts/q?a=1', { headers: { host: 'localhost' } })).toMatchObject({ cacheStatus: 'HIT', body: 'from post' })
    expect(await t.get('/posts/q?a=2', { headers: { host: 'localhost' } })).toMatchObject({ cacheStatus: 'MISS' })
  })

  it.each([
    ['Content-Location names another URI', '/posts/a', { 'cache-control': 'max-age=60', 'content-location': '/posts/other' }, 200],
    ['no Content-Location', '/posts/b', { 'cache-control': 'max-age=60' }, 200],
    ['no explicit freshness (a route TTL does not count)', '/ttl/c', { 'content-location': '/ttl/c' }, 200],
    ['private', '/posts/d', { 'cache-control': 'private, max-age=60', 'content-location': '/posts/d' }, 200],
    ['a 201 (only 200 and 203 carry the resource\'s representation)', '/posts/e', { 'cache-control': 'max-age=60', 'content-location': '/posts/e' }, 201],
    ['larger than the route\'s maxObjectSize', '/small/f', { 'cache-control': 'max-age=60', 'content-location': '/small/f' }, 200],
  ])('not reused with %s', async (_what, path, headers, status) => {
    t.origin.on(path, postThen({ status, headers, body: 'a post answer of 32 bytes, long.' }))
    await t.get(path, { method: 'POST', body: 'x' })
    expect(await t.get(path)).toMatchObject({ cacheStatus: 'MISS', body: 'get 2' })
  })

  it('an answer the origin breaks off mid-body is not stored', async () => {
    t.origin.on('/posts/broken', (r, n) =>
      r.method === 'POST'
        ? { headers: { 'cache-control': 'max-age=60', 'content-location': '/posts/broken' }, body: 'x'.repeat(20_000), breakOff: true }
        : { headers: { 'cache-control': 'max-age=60' }, body: `get ${n}` },
    )
    await t.get('/posts/broken', { method: 'POST', body: 'x' }).catch(() => undefined)
    expect(await t.get('/posts/broken')).toMatchObject({ cacheStatus: 'MISS', body: 'get 2' })
  })

  it('a chunked answer longer than maxObjectSize is not stored either', async () => {
    t.origin.on('/small/chunked', (r, n) =>
      r.method === 'POST'
        ? { headers: { 'cache-control': 'max-age=60', 'content-location': '/small/chunked' }, body: 'x'.repeat(64), chunks: 4 }
        : { headers: { 'cache-control': 'max-age=60' }, body: `get ${n}` },
    )
    expect((await t.get('/small/chunked', { method: 'POST', body: 'x' })).body).toBe('x'.repeat(64))
    expect(await t.get('/small/chunked')).toMatchObject({ cacheStatus: 'MISS', body: 'get 2' })
  })
})
