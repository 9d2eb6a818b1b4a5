/**
 * Conformance: serving stale responses (cache-tests module `stale`): what forbids it, the
 * stale-while-revalidate window, and (the suite's `check` cases) when corral serves stale on its
 * own: a disconnected origin (RFC 9111 §4.2.4, the route's `staleIfDisconnected`, 5 minutes by
 * default) and stale-if-error. Not ported: `stale-sie-503` (its request disconnects, as
 * `stale-sie-close` does) and `stale-warning-*` (RFC 9111 dropped the Warning field).
 */
import { describe, expect, it } from 'vitest'
import { pause, useConformance } from './suite.js'

const t = useConformance()

/** Wait until the gateway's background refreshes have finished. */
async function settled(): Promise<void> {
  await Promise.allSettled([...t.gateway.runtime.background])
}

describe('stale: required', () => {
  // The origin drops the connection: the stored response must not be used instead.
  for (const [id, directive] of [
    ['stale-close-must-revalidate', 'must-revalidate'],
    ['stale-close-proxy-revalidate', 'proxy-revalidate'],
    ['stale-close-no-cache', 'no-cache'],
    ['stale-close-s-maxage=2', 's-maxage=2'],
  ] as const) {
    it(`${id}: Cache-Control: ${directive} forbids serving stale when the origin is unreachable`, async () => {
      const path = `/${id}`
      const stored = `stored ${id}`
      t.origin.on(path, (_r, n) => (n === 1 ? { headers: { 'cache-control': `max-age=2, ${directive}` }, body: stored } : { hangUp: true }))
      await t.send(path)
      pause()
      const got = await t.notCached(path)
      expect(got.body).not.toBe(stored)
    })
  }

  it('stale-while-revalidate-window: past the stale-while-revalidate window the stale response is not served', async () => {
    const path = '/stale-while-revalidate-window'
    t.origin.on(path, (_r, n) =>
      n === 1
        ? { headers: { 'cache-control': 'max-age=1, stale-while-revalidate=4', etag: '"abc"' }, body: 'one' }
        : { headers: { 'cache-control': 'no-cache', etag: '"def"' }, body: `later ${n}` },
    )
    await t.send(path)
    pause()
    // Within the window: served from the cache (stale), refreshed in the background.
    const before = t.origin.hitsOn(path)
    expect((await t.send(path)).body).toBe('one')
    await settled()
    expect(t.origin.hitsOn(path)).toBeLessThanOrEqual(before + 1)
    pause()
    await t.notCached(path)
  })
})

describe('stale: optimal', () => {
  it('stale-while-revalidate: a stale response inside its stale-while-revalidate window is served', async () => {
    const path = '/stale-while-revalidate'
    t.origin.on(path, { headers: { 'cache-control': 'max-age=1, stale-while-revalidate=3600', etag: '"abc"' }, body: 'x' })
    await t.send(path)
    pause()
    const got = await t.cached(path)
    expect(got.body).toBe('x')
    await settled()
  })
})

describe('stale: check', () => {
  it('stale-close: a stale response is served when the origin closes the connection', async () => {
    const path = '/stale-close'
    t.origin.on(path, (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=2' }, body: 'stored' } : { hangUp: true }))
    await t.send(path)
    pause()
    const got = await t.notCached(path)
    expect(got).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'stored' })
    expect(got.cacheStatusHeader).toContain('detail=stale-if-disconnected')
  })

  it('stale-503: corral does not serve a stale response for a 503 without stale-if-error (an answer, not a disconnection)', async () => {
    // The suite asks whether the stale response is used; corral passes the 503 on.
    const path = '/stale-503'
    t.origin.on(path, (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=2' }, body: 'stored' } : { status: 503, body: 'unavailable' }))
    await t.send(path)
    pause()
    const got = await t.notCached(path)
    expect(got).toMatchObject({ status: 503, body: 'unavailable' })
  })

  it('stale-sie-close: with stale-if-error, a stale response is served when the origin closes the connection', async () => {
    const path = '/stale-sie-close'
    t.origin.on(path, (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=2, stale-if-error=60' }, body: 'stored' } : { hangUp: true }))
    await t.send(path)
    pause()
    const got = await t.notCached(path)
    expect(got).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'stored' })
    expect(got.cacheStatusHeader).toContain('detail=stale-if-error')
  })
})
