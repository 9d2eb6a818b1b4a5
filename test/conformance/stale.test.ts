/**
 * Conformance: serving stale responses (cache-tests module `stale`): what forbids it and the
 * stale-while-revalidate window.
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
