/**
 * Rules of docs/http-semantics.md ("Rules without a dedicated test") that cannot be seen through
 * the gateway: tested on the pure function that carries them.
 */
import { describe, expect, it } from 'vitest'
import { parseResponseCacheControl } from '../../src/policy/cache-control.js'
import { freshnessFor, heuristicFreshness } from '../../src/policy/freshness.js'
import { routeCache } from '../helpers/route.js'

const T = Date.UTC(2024, 0, 15, 12, 0, 0)
const httpDate = (ms: number): string => new Date(ms).toUTCString()

describe('heuristic freshness (RFC 9111 §4.2.2)', () => {
  // Through the gateway a 5xx never reaches the heuristic: without explicit freshness or a
  // statusTtl rule it is not stored at all, and with either that lifetime is used. So this half
  // is a unit test.
  it('gives a 5xx no heuristic freshness, not even a heuristically cacheable 501', () => {
    const route = routeCache({ heuristicFraction: 0.1 })
    const headers = { date: httpDate(T), 'last-modified': httpDate(T - 100_000) }
    // control: the same fields on a 200 get 10% of 100 s
    expect(heuristicFreshness(200, headers, route, T)).toEqual({ lifetimeMs: 10_000, source: 'heuristic' })
    for (const status of [500, 501, 502, 503, 504, 505]) {
      expect(heuristicFreshness(status, headers, route, T), String(status)).toBeUndefined()
      expect(freshnessFor(status, parseResponseCacheControl(undefined), headers, route, T), String(status)).toBeUndefined()
    }
  })
})
