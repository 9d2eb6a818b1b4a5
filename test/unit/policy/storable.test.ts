import { describe, expect, it } from 'vitest'
import type { RouteCache } from '../../../src/config/types.js'
import { routeCache } from '../../helpers/route.js'
import { parseRequestCacheControl, parseResponseCacheControl } from '../../../src/policy/cache-control.js'
import { freshnessFor } from '../../../src/policy/freshness.js'
import { STORE_RULES, whyNotStorable, type StoreInput } from '../../../src/policy/storable.js'
import type { HeaderMap } from '../../../src/policy/types.js'
import type { Reason } from '../../../src/status.js'

type StatusKey = number | '1xx' | '2xx' | '3xx' | '4xx' | '5xx'

interface Case {
  method?: string
  reqHeaders?: HeaderMap
  status?: number
  resHeaders?: HeaderMap
  route?: Partial<RouteCache>
}

/** Builds the input the store stage builds: directives parsed, freshness from freshnessFor. */
function input(c: Case): StoreInput {
  const reqHeaders = c.reqHeaders ?? {}
  const resHeaders = c.resHeaders ?? {}
  const status = c.status ?? 200
  const route = routeCache(c.route)
  const directives = parseResponseCacheControl(resHeaders['cache-control'])
  return {
    method: c.method ?? 'GET',
    reqHeaders,
    reqDirectives: parseRequestCacheControl(reqHeaders['cache-control'], reqHeaders.pragma),
    status,
    resHeaders,
    directives,
    route,
    freshness: freshnessFor(status, directives, resHeaders, route, 0),
  }
}

const fresh = { 'cache-control': 'max-age=60' }
const rules = (entries: Array<[StatusKey, number]>): Partial<RouteCache> => ({ statusTtlMs: new Map(entries) })

describe('whyNotStorable', () => {
  it.each<[string, Case, Reason | undefined]>([
    ['a fresh GET 200 is storable', { resHeaders: fresh }, undefined],
    ['HEAD is not stored in this version', { method: 'HEAD', resHeaders: fresh }, 'METHOD'],
    ['POST is not stored', { method: 'POST', resHeaders: fresh }, 'METHOD'],
    ['response no-store', { resHeaders: { 'cache-control': 'max-age=60, no-store' } }, 'NO_STORE'],
    ['request no-store', { reqHeaders: { 'cache-control': 'no-store' }, resHeaders: fresh }, 'NO_STORE'],
    ['must-understand with a known status ignores no-store', { resHeaders: { 'cache-control': 'max-age=60, no-store, must-understand' } }, undefined],
    ['must-understand with an unknown status keeps no-store', { status: 299, resHeaders: { 'cache-control': 'max-age=60, no-store, must-understand' } }, 'NO_STORE'],
    ['must-understand alone with an unknown status', { status: 299, resHeaders: { 'cache-control': 'max-age=60, must-understand' } }, 'STATUS'],
    ['unqualified private', { resHeaders: { 'cache-control': 'private, max-age=60' } }, 'PRIVATE'],
    ['qualified private is storable (fields stripped)', { resHeaders: { 'cache-control': 'private="x-user", max-age=60' } }, undefined],
    ['Authorization without permission', { reqHeaders: { authorization: 'Bearer t' }, resHeaders: fresh }, 'AUTHORIZATION'],
    ['Authorization with Expires only', { reqHeaders: { authorization: 'FOO' }, resHeaders: { expires: 'Thu, 01 Jan 2099 00:00:00 GMT' } }, 'AUTHORIZATION'],
    ['Authorization + public', { reqHeaders: { authorization: 'Bearer t' }, resHeaders: { 'cache-control': 'public, max-age=60' } }, undefined],
    ['Authorization + s-maxage', { reqHeaders: { authorization: 'Bearer t' }, resHeaders: { 'cache-control': 's-maxage=60' } }, undefined],
    ['Authorization + must-revalidate', { reqHeaders: { authorization: 'Bearer t' }, resHeaders: { 'cache-control': 'max-age=60, must-revalidate' } }, undefined],
    ['Set-Cookie', { resHeaders: { ...fresh, 'set-cookie': ['a=b'] } }, 'SET_COOKIE'],
    ['Set-Cookie even with public', { resHeaders: { 'cache-control': 'public, max-age=60', 'set-cookie': 'a=b' } }, 'SET_COOKIE'],
    ['Vary: *', { resHeaders: { ...fresh, vary: '*' } }, 'VARY_STAR'],
    ['Vary with * later in the list', { resHeaders: { ...fresh, vary: 'accept, *' } }, 'VARY_STAR'],
    ['Vary with * on a second line', { resHeaders: { ...fresh, vary: ['accept', '*'] } }, 'VARY_STAR'],
    ['Vary without * is fine', { resHeaders: { ...fresh, vary: 'accept-encoding' } }, undefined],
    ['206', { status: 206, resHeaders: fresh }, 'PARTIAL'],
    ['exact status rule 0', { status: 404, resHeaders: fresh, route: rules([[404, 0]]) }, 'STATUS'],
    ['class status rule 0', { status: 404, resHeaders: fresh, route: rules([['4xx', 0]]) }, 'STATUS'],
    ['exact positive rule beats class 0', { status: 404, resHeaders: fresh, route: rules([[404, 5_000], ['4xx', 0]]) }, undefined],
    ['5xx with max-age, without a rule (RFC 9111 §3: explicit freshness)', { status: 503, resHeaders: fresh }, undefined],
    ['5xx with s-maxage', { status: 500, resHeaders: { 'cache-control': 's-maxage=60' } }, undefined],
    ['5xx with Expires', { status: 502, resHeaders: { expires: 'Thu, 01 Jan 2099 00:00:00 GMT' } }, undefined],
    ['5xx with max-age=0 (stored stale, like any status)', { status: 504, resHeaders: { 'cache-control': 'max-age=0' } }, undefined],
    ['an unknown 599 with max-age', { status: 599, resHeaders: fresh }, undefined],
    ['5xx with max-age, but the route says 5xx: 0', { status: 503, resHeaders: fresh, route: rules([['5xx', 0]]) }, 'STATUS'],
    ['5xx with max-age, but the route says 503: 0', { status: 503, resHeaders: fresh, route: rules([[503, 0], ['5xx', 60_000]]) }, 'STATUS'],
    ['5xx with max-age and an exact positive rule over class 0', { status: 503, resHeaders: fresh, route: rules([[503, 1_000], ['5xx', 0]]) }, undefined],
    ['5xx without explicit freshness or rule', { status: 503 }, 'STATUS'],
    ['5xx with a positive exact rule', { status: 503, route: rules([[503, 1_000]]) }, undefined],
    ['5xx with a positive class rule', { status: 500, route: rules([['5xx', 1_000]]) }, undefined],
    ['501 is not stored by the default TTL', { status: 501, route: { defaultTtlMs: 60_000 } }, 'STATUS'],
    ['501 is not stored by heuristic freshness', { status: 501, resHeaders: { 'last-modified': 'Mon, 15 Jan 2024 12:00:00 GMT', date: 'Tue, 16 Jan 2024 12:00:00 GMT' }, route: { heuristicFraction: 0.1 } }, 'STATUS'],
    ['5xx public with a validator but no lifetime is not stored to revalidate', { status: 500, resHeaders: { 'cache-control': 'public', etag: '"a"' } }, 'STATUS'],
    ['5xx with max-age is still refused for private', { status: 503, resHeaders: { 'cache-control': 'private, max-age=60' } }, 'PRIVATE'],
    ['override mode: 5xx with max-age and no rule keeps the origin lifetime', { status: 503, resHeaders: fresh, route: { originCacheControl: 'override', defaultTtlMs: 60_000 } }, undefined],
    ['1xx', { status: 103, resHeaders: fresh }, 'STATUS'],
    ['304', { status: 304, resHeaders: fresh }, 'STATUS'],
    ['no freshness at all', {}, 'NO_FRESHNESS'],
    ['no freshness, non-heuristic status with a default TTL', { status: 302, route: { defaultTtlMs: 60_000 } }, 'NO_FRESHNESS'],
    ['route default TTL gives freshness', { route: { defaultTtlMs: 60_000 } }, undefined],
    ['no-cache + ETag without freshness is stored to revalidate', { resHeaders: { 'cache-control': 'no-cache', etag: '"a"' } }, undefined],
    ['no-cache + Last-Modified without freshness', { resHeaders: { 'cache-control': 'no-cache', 'last-modified': 'Mon, 15 Jan 2024 12:00:00 GMT' } }, undefined],
    ['no-cache without a validator', { resHeaders: { 'cache-control': 'no-cache' } }, 'NO_FRESHNESS'],
    ['qualified no-cache + ETag needs freshness', { resHeaders: { 'cache-control': 'no-cache="x"', etag: '"a"' } }, 'NO_FRESHNESS'],
    ['no-cache + ETag does not make a 302 storable (RFC 9111 §3)', { status: 302, resHeaders: { 'cache-control': 'no-cache', etag: '"a"' } }, 'NO_FRESHNESS'],
    ['no-cache + ETag does not make a 201 storable', { status: 201, resHeaders: { 'cache-control': 'no-cache', etag: '"a"' } }, 'NO_FRESHNESS'],
    ['public + ETag makes a 302 storable, to revalidate', { status: 302, resHeaders: { 'cache-control': 'public', etag: '"a"' } }, undefined],
    ['max-age=0 is storable (stale, can serve stale-if-error / revalidate)', { resHeaders: { 'cache-control': 'max-age=0' } }, undefined],
    ['override mode still refuses no-store', { resHeaders: { 'cache-control': 'no-store' }, route: { originCacheControl: 'override', defaultTtlMs: 60_000 } }, 'NO_STORE'],
  ])('%s', (_name, c, expected) => {
    expect(whyNotStorable(input(c))).toBe(expected)
  })

  it('evaluates rules in order: the first objection is the reason', () => {
    const c = input({ method: 'POST', reqHeaders: { authorization: 'x' }, resHeaders: { 'cache-control': 'no-store', 'set-cookie': 'a=b' } })
    expect(whyNotStorable(c)).toBe('METHOD')
    expect(STORE_RULES.map((r) => r.name)).toEqual([
      'methodIsGet',
      'noStore',
      'notPrivate',
      'authorizationAllowed',
      'noSetCookie',
      'noVaryStar',
      'notPartial',
      'understoodStatus',
      'cacheableStatus',
      'hasFreshness',
    ])
  })
})
