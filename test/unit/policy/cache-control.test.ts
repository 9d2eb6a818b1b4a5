import { describe, expect, it } from 'vitest'
import { parseDeltaSeconds, parseRequestCacheControl, parseResponseCacheControl } from '../../../src/policy/cache-control.js'

/** The named properties of `actual` (missing ones as undefined), for comparing with toEqual. */
function pick(actual: object, expected: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(expected).map((k) => [k, (actual as Record<string, unknown>)[k]]))
}

describe('parseResponseCacheControl', () => {
  it('has everything off for an absent header', () => {
    expect(parseResponseCacheControl(undefined)).toEqual({
      noStore: false,
      noCache: false,
      private: false,
      public: false,
      mustRevalidate: false,
      proxyRevalidate: false,
      mustUnderstand: false,
      noTransform: false,
      immutable: false,
      conflicting: false,
    })
  })

  it.each<[string, string | string[], Record<string, unknown>]>([
    ['max-age', 'max-age=60', { maxAge: 60, conflicting: false }],
    ['s-maxage', 's-maxage=30', { sMaxage: 30 }],
    ['quoted max-age (RFC 9111 §5.2: accept both forms)', 'max-age="60"', { maxAge: 60, conflicting: false }],
    ['leading zeros', 'max-age=003600', { maxAge: 3600 }],
    ['case-insensitive names', 'MaX-AgE=5, No-StOrE, PUBLIC', { maxAge: 5, noStore: true, public: true }],
    ['repeated lines are one list', ['max-age=60', 'public'], { maxAge: 60, public: true }],
    ['comma list with odd spacing', ' public ,max-age=1 ,, must-revalidate', { public: true, maxAge: 1, mustRevalidate: true }],
    ['max-age inside an extension quoted string is not a directive', 'ext="max-age=3600", max-age=1', { maxAge: 1, conflicting: false }],
    ['quoted extension after the real max-age', 'max-age=1, ext="a, max-age=3600"', { maxAge: 1, conflicting: false }],
    ['escaped quote inside a quoted string does not end it', 'ext="a\\", max-age=9", max-age=2', { maxAge: 2, conflicting: false }],
    ['same max-age twice is not a conflict', 'max-age=60, max-age=60', { maxAge: 60, conflicting: false }],
    ['different max-age twice conflicts', 'max-age=1800, max-age=1', { conflicting: true }],
    ['different max-age on separate lines conflicts', ['max-age=1', 'max-age=1800'], { conflicting: true }],
    ['different s-maxage twice conflicts', 's-maxage=1, s-maxage=2', { conflicting: true }],
    ['non-numeric max-age conflicts', 'max-age=abc', { conflicting: true }],
    ['trailing letters conflict', 'max-age=100a', { conflicting: true }],
    ['negative max-age conflicts', 'max-age=-100', { conflicting: true }],
    ['decimal max-age conflicts', 'max-age=3600.0', { conflicting: true }],
    ['single-quoted max-age conflicts', "max-age='3600'", { conflicting: true }],
    ['space before = makes it malformed', 'max-age =100', { conflicting: true }],
    ['space after = makes it malformed', 'max-age= 100', { conflicting: true }],
    ['max-age without a value conflicts', 'max-age', { conflicting: true }],
    ['overflow clamps to 2^31', 'max-age=99999999999', { maxAge: 2147483648, conflicting: false }],
    ['exactly 2^31 stays', 's-maxage=2147483648', { sMaxage: 2147483648 }],
    ['unqualified no-cache', 'no-cache', { noCache: true }],
    ['qualified no-cache is a lowercased list', 'no-cache="Set-Cookie"', { noCache: ['set-cookie'] }],
    ['commas inside the quoted list', 'private="X-User, x-Other", max-age=5', { private: ['x-user', 'x-other'], maxAge: 5 }],
    ['token-form qualifier', 'no-cache=set-cookie', { noCache: ['set-cookie'] }],
    ['unqualified beats qualified', 'no-cache="a", no-cache', { noCache: true }],
    ['qualified lists merge', ['private="a"', 'private="b, a"'], { private: ['a', 'b'] }],
    ['empty qualifier is read as unqualified', 'private=""', { private: true }],
    ['unqualified private', 'private', { private: true }],
    ['stale-while-revalidate and stale-if-error', 'stale-while-revalidate=30, stale-if-error=600', { staleWhileRevalidate: 30, staleIfError: 600 }],
    ['repeated stale windows keep the smallest', 'stale-if-error=600, stale-if-error=60', { staleIfError: 60 }],
    ['invalid stale window is ignored', 'stale-while-revalidate=soon', { staleWhileRevalidate: undefined, conflicting: false }],
    ['the other flags', 'must-revalidate, proxy-revalidate, must-understand, no-transform, immutable', { mustRevalidate: true, proxyRevalidate: true, mustUnderstand: true, noTransform: true, immutable: true }],
    ['unknown extensions are ignored', 'foobar, max-age=3600', { maxAge: 3600, conflicting: false }],
    ['malformed public is not honoured', 'public junk', { public: false }],
    ['malformed no-store still is', 'no-store junk', { noStore: true }],
  ])('%s', (_name, header, expected) => {
    expect(pick(parseResponseCacheControl(header), expected)).toEqual(expected)
  })
})

describe('parseRequestCacheControl', () => {
  it.each<[string, string | string[] | undefined, string | string[] | undefined, Record<string, unknown>]>([
    ['nothing', undefined, undefined, { noCache: false, noStore: false, onlyIfCached: false }],
    ['max-age', 'max-age=0', undefined, { maxAge: 0 }],
    ['max-stale without a value accepts any staleness', 'max-stale', undefined, { maxStale: Infinity }],
    ['max-stale with a value', 'max-stale=30', undefined, { maxStale: 30 }],
    ['min-fresh', 'min-fresh=10', undefined, { minFresh: 10 }],
    ['no-cache, no-store, only-if-cached', 'No-Cache, no-store, only-if-cached', undefined, { noCache: true, noStore: true, onlyIfCached: true }],
    ['stale-if-error', 'stale-if-error=60', undefined, { staleIfError: 60 }],
    ['invalid max-age is dropped', 'max-age=soon', undefined, { maxAge: undefined }],
    ['repeated max-age keeps the smallest', ['max-age=60', 'max-age=5'], undefined, { maxAge: 5 }],
    ['repeated min-fresh keeps the largest', 'min-fresh=5, min-fresh=50', undefined, { minFresh: 50 }],
    ['Pragma: no-cache without Cache-Control is no-cache', undefined, 'no-cache', { noCache: true }],
    ['Pragma: no-cache is case-insensitive and may be in a list', undefined, ['foo', 'No-Cache'], { noCache: true }],
    ['Pragma is ignored when Cache-Control is present', 'max-age=60', 'no-cache', { noCache: false, maxAge: 60 }],
    ['Pragma is ignored even with an empty Cache-Control', '', 'no-cache', { noCache: false }],
    ['unknown Pragma does nothing', undefined, 'unrecognised-extension', { noCache: false }],
  ])('%s', (_name, cc, pragma, expected) => {
    expect(pick(parseRequestCacheControl(cc, pragma), expected)).toEqual(expected)
  })
})

describe('parseDeltaSeconds', () => {
  it.each<[string | undefined, number | undefined]>([
    ['0', 0],
    ['60', 60],
    ['0060', 60],
    ['2147483647', 2147483647],
    ['2147483649', 2147483648],
    ['123456789012345678901234567890', 2147483648],
    ['', undefined],
    ['-1', undefined],
    ['+1', undefined],
    ['1.5', undefined],
    [' 1', undefined],
    [undefined, undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseDeltaSeconds(value)).toBe(expected)
  })
})
