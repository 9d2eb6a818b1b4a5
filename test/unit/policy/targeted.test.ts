import { describe, expect, it } from 'vitest'
import { targetedDirectives, toCacheControl } from '../../../src/policy/targeted.js'

describe('targeted cache-control fields (RFC 9213, RFC 8941 Dictionary)', () => {
  it.each([
    ['max-age=60', 'max-age=60'],
    ['max-age=60, no-store', 'max-age=60, no-store'],
    ['foobar, max-age=3600', 'foobar, max-age=3600'],
    ['max-age=2147483648', 'max-age=2147483648'],
    ['no-cache="set-cookie"', 'no-cache="set-cookie"'],
    ['private=?1, max-age=5', 'private, max-age=5'],
    ['max-age=60;foo=bar', 'max-age=60'],
    ['max-age="60"', ''], //               wrong type: the directive is ignored
    ['max-age=1.5, s-maxage=10', 's-maxage=10'],
    ['x=(a b), max-age=1', 'max-age=1'],
    ['max-age=10, max-age=20', 'max-age=20'], //   RFC 8941: a repeated key keeps its last value
    ['max-age=100, max-age=?0', ''],
  ])('%s → %s', (field, expected) => {
    expect(toCacheControl(field)).toBe(expected)
  })

  it.each(['max-age=10000, &&&&&', 'Max-Age=10', 'max-age=60,', 'max-age=60 no-store', 'max-age=(1', '"quoted"'])(
    'an invalid Dictionary is ignored as a whole: %s',
    (field) => {
      expect(toCacheControl(field)).toBeUndefined()
    },
  )

  it('takes the first field of the list that the response carries', () => {
    const headers = { 'cdn-cache-control': 'max-age=1', 'corral-cache-control': 'max-age=2' }
    expect(targetedDirectives(headers, ['corral-cache-control', 'cdn-cache-control'])).toBe('max-age=2')
    expect(targetedDirectives(headers, ['other', 'cdn-cache-control'])).toBe('max-age=1')
    expect(targetedDirectives(headers, [])).toBeUndefined()
  })

  it.each([
    ['empty', ''],
    ['blank', '  '],
    ['invalid', 'Max-Age=10'],
  ])('an %s field is passed over for the next one on the list, then for Cache-Control (RFC 9213 §2.1)', (_what, value) => {
    expect(targetedDirectives({ 'corral-cache-control': value, 'cdn-cache-control': 'max-age=1' }, ['corral-cache-control', 'cdn-cache-control'])).toBe(
      'max-age=1',
    )
    expect(targetedDirectives({ 'cdn-cache-control': value, 'cache-control': 'private' }, ['cdn-cache-control'])).toBeUndefined()
  })
})
