/**
 * Conformance: which status codes are stored and reused with explicit freshness (cache-tests
 * module `status`), and `must-understand`.
 */
import { describe, expect, it } from 'vitest'
import { freshHeaders, staleHeaders, useConformance } from './suite.js'

const t = useConformance()

const STATUSES = [200, 203, 204, 299, 301, 302, 303, 307, 308, 400, 404, 410, 499, 500, 502, 503, 504, 599] as const
const bodyFor = (code: number) => (code === 204 ? '' : `body for ${code}`)

describe('status: required', () => {
  for (const code of STATUSES) {
    it(`status-${code}-stale: a stale ${code} with explicit (past) freshness is not reused`, async () => {
      const path = `/status-${code}-stale`
      t.origin.on(path, { status: code, headers: staleHeaders(), body: bodyFor(code) })
      await t.send(path)
      const got = await t.notCached(path)
      expect(got.status).toBe(code)
    })
  }

  it('status-599-must-understand: an unknown status with no-store, must-understand is not stored', async () => {
    const path = '/status-599-must-understand'
    t.origin.on(path, { status: 599, headers: { 'cache-control': 'max-age=3600, no-store, must-understand' }, body: 'x' })
    await t.send(path)
    await t.notCached(path)
  })
})

describe('status: optimal', () => {
  // 5xx included (unknown 599 too): RFC 9111 §3 lets a cache store any final status with explicit
  // freshness, and corral does unless a route's statusTtl says 0 for it.
  for (const code of STATUSES) {
    it(`status-${code}-fresh: a fresh ${code} with explicit freshness is reused`, async () => {
      const path = `/status-${code}-fresh`
      t.origin.on(path, { status: code, headers: freshHeaders(), body: bodyFor(code) })
      await t.send(path)
      const got = await t.cached(path)
      expect(got).toMatchObject({ status: code, body: bodyFor(code) })
    })
  }

  it('status-200-must-understand: a known status with no-store, must-understand is stored', async () => {
    const path = '/status-200-must-understand'
    t.origin.on(path, { status: 200, headers: { 'cache-control': 'max-age=3600, no-store, must-understand' }, body: 'x' })
    await t.send(path)
    await t.cached(path)
  })
})
