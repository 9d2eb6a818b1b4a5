/**
 * Conformance: response Cache-Control directives other than freshness (cache-tests module
 * `cc-response`). Browser-only cases (private caches, `immutable`) are left out.
 */
import { describe, expect, it } from 'vitest'
import { httpDate, pause, useConformance, validating } from './suite.js'

const t = useConformance()

describe('cc-response: required', () => {
  it('cc-resp-private-shared: a shared cache does not store Cache-Control: private', async () => {
    t.origin.on('/cc-resp-private-shared', { headers: { 'cache-control': 'private, max-age=3600' }, body: 'x' })
    await t.send('/cc-resp-private-shared')
    await t.notCached('/cc-resp-private-shared')
  })

  it('cc-resp-no-store: no-store is not stored', async () => {
    t.origin.on('/cc-resp-no-store', { headers: { 'cache-control': 'no-store' }, body: 'x' })
    await t.send('/cc-resp-no-store')
    await t.notCached('/cc-resp-no-store')
  })

  it('cc-resp-no-store-case-insensitive: No-StOrE is no-store', async () => {
    t.origin.on('/cc-resp-no-store-case-insensitive', { headers: { 'cache-control': 'No-StOrE' }, body: 'x' })
    await t.send('/cc-resp-no-store-case-insensitive')
    await t.notCached('/cc-resp-no-store-case-insensitive')
  })

  it('cc-resp-no-store-fresh: no-store wins over max-age and Expires', async () => {
    t.origin.on('/cc-resp-no-store-fresh', {
      headers: { 'cache-control': 'max-age=10000, no-store', expires: httpDate(10000), date: httpDate(0) },
      body: 'x',
    })
    await t.send('/cc-resp-no-store-fresh')
    await t.notCached('/cc-resp-no-store-fresh')
  })

  for (const [id, cc] of [
    ['cc-resp-no-store-old-new', 'no-store'],
    ['cc-resp-no-store-old-max-age', 'no-store, max-age=0'],
  ] as const) {
    it(`${id}: a later "${cc}" response does not displace the stored fresh one`, async () => {
      const path = `/${id}`
      t.origin.on(path, (_r, n) =>
        n === 1
          ? { headers: { 'cache-control': 'max-age=10000', expires: httpDate(10000), date: httpDate(0), a: '1' }, body: 'one' }
          : { headers: { 'cache-control': cc, date: httpDate(0), a: '2' }, body: 'two' },
      )
      await t.send(path)
      pause()
      await t.send(path)
      pause()
      const got = await t.cached(path)
      expect(got.headers.a).toBe('1')
    })
  }

  it('cc-resp-no-cache: no-cache is not reused without validation, even with max-age and Expires', async () => {
    t.origin.on('/cc-resp-no-cache', {
      headers: { 'cache-control': 'max-age=10000, no-cache', expires: httpDate(10000), date: httpDate(0) },
      body: 'x',
    })
    await t.send('/cc-resp-no-cache')
    await t.notCached('/cc-resp-no-cache')
  })

  it('cc-resp-no-cache-case-insensitive: No-CaChE is no-cache', async () => {
    t.origin.on('/cc-resp-no-cache-case-insensitive', {
      headers: { 'cache-control': 'max-age=10000, No-CaChE', expires: httpDate(10000), date: httpDate(0) },
      body: 'x',
    })
    await t.send('/cc-resp-no-cache-case-insensitive')
    await t.notCached('/cc-resp-no-cache-case-insensitive')
  })

  it('cc-resp-must-revalidate-stale: a stale must-revalidate response is revalidated', async () => {
    const path = '/cc-resp-must-revalidate-stale'
    t.origin.on(path, validating({ headers: { 'cache-control': 'max-age=2, must-revalidate', etag: '"abcd"' }, body: 'x' }))
    await t.send(path)
    await t.cached(path)
    pause()
    const { got } = await t.validated(path, 'etag')
    expect(got).toMatchObject({ status: 200, body: 'x' })
  })
})

describe('cc-response: optimal', () => {
  it('cc-resp-no-cache-revalidate: no-cache is stored and revalidated upon use', async () => {
    const path = '/cc-resp-no-cache-revalidate'
    t.origin.on(path, validating({ headers: { 'cache-control': 'no-cache', etag: '"abcd"' }, body: 'x' }))
    await t.send(path)
    const { got } = await t.validated(path, 'etag')
    expect(got).toMatchObject({ status: 200, body: 'x' })
  })

  it('cc-resp-no-cache-revalidate-fresh: the same with max-age and Expires', async () => {
    const path = '/cc-resp-no-cache-revalidate-fresh'
    t.origin.on(
      path,
      validating({
        headers: { 'cache-control': 'max-age=10000, no-cache', expires: httpDate(10000), date: httpDate(0), etag: '"abcd"' },
        body: 'x',
      }),
    )
    await t.send(path)
    const { got } = await t.validated(path, 'etag')
    expect(got).toMatchObject({ status: 200, body: 'x' })
  })

  it('cc-resp-must-revalidate-fresh: a fresh must-revalidate response is reused', async () => {
    const path = '/cc-resp-must-revalidate-fresh'
    t.origin.on(path, { headers: { 'cache-control': 'max-age=10000, must-revalidate', etag: '"abcd"' }, body: 'x' })
    await t.send(path)
    await t.cached(path)
  })
})
