import { describe, expect, it } from 'vitest'
import {
  evaluatePreconditions,
  parseEntityTag,
  parseETagList,
  revalidationHeaders,
  strongMatch,
  weakMatch,
  type StoredValidators,
  notModifiedMatches,
} from '../../../src/policy/conditional.js'
import type { HeaderMap } from '../../../src/policy/types.js'

const LM = 'Mon, 15 Jan 2024 12:00:00 GMT'
const BEFORE = 'Mon, 15 Jan 2024 11:00:00 GMT'
const AFTER = 'Mon, 15 Jan 2024 13:00:00 GMT'

describe('entity-tags', () => {
  it.each<[string, string, { weak: boolean; opaque: string } | undefined]>([
    ['strong', '"abc"', { weak: false, opaque: 'abc' }],
    ['weak', 'W/"abc"', { weak: true, opaque: 'abc' }],
    ['lowercase w/ is weak too', 'w/"abc"', { weak: true, opaque: 'abc' }],
    ['comma inside the tag', '"a,b"', { weak: false, opaque: 'a,b' }],
    ['obs-text', '"abcdefü"', { weak: false, opaque: 'abcdefü' }],
    ['unquoted is read as quoted', 'abc', { weak: false, opaque: 'abc' }],
    ['malformed is kept whole', 'W\\"abc"', { weak: false, opaque: 'W\\"abc"' }],
    ['empty', '  ', undefined],
  ])('parses %s', (_name, value, expected) => {
    expect(parseEntityTag(value)).toEqual(expected)
  })

  it.each<[string, string | string[], ReturnType<typeof parseETagList>]>([
    ['a list with weak and strong', 'W/"a", "b"', [{ weak: true, opaque: 'a' }, { weak: false, opaque: 'b' }]],
    ['commas inside quotes do not split', '"a,b", "c"', [{ weak: false, opaque: 'a,b' }, { weak: false, opaque: 'c' }]],
    ['repeated lines', ['"a"', 'W/"b"'], [{ weak: false, opaque: 'a' }, { weak: true, opaque: 'b' }]],
    ['star', '*', '*'],
    ['empty members are skipped', ' , "a" ,', [{ weak: false, opaque: 'a' }]],
  ])('lists: %s', (_name, value, expected) => {
    expect(parseETagList(value)).toEqual(expected)
  })

  // RFC 9110 §8.8.3.2 table.
  it.each<[string, string, boolean, boolean]>([
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', '"1"', true, true],
    ['"1"', '"2"', false, false],
    ['"abc"', 'abc', true, true],
  ])('%s vs %s: strong %s, weak %s', (a, b, strong, weak) => {
    expect(strongMatch(a, b)).toBe(strong)
    expect(weakMatch(a, b)).toBe(weak)
  })
})

describe('evaluatePreconditions (RFC 9110 §13.2.2)', () => {
  const stored: StoredValidators = { status: 200, etag: '"v1"', lastModified: LM }
  it.each<[string, HeaderMap, StoredValidators, string, ReturnType<typeof evaluatePreconditions>]>([
    ['no conditionals: full response', {}, stored, 'GET', undefined],
    ['If-None-Match matching: 304', { 'if-none-match': '"v1"' }, stored, 'GET', 'not-modified'],
    ['If-None-Match matching for HEAD: 304', { 'if-none-match': '"v1"' }, stored, 'HEAD', 'not-modified'],
    ['If-None-Match uses weak comparison', { 'if-none-match': 'W/"v1"' }, stored, 'GET', 'not-modified'],
    ['If-None-Match matches a weak stored ETag', { 'if-none-match': '"v1"' }, { ...stored, etag: 'W/"v1"' }, 'GET', 'not-modified'],
    ['If-None-Match in a list (last)', { 'if-none-match': '"x", "y", "v1"' }, stored, 'GET', 'not-modified'],
    ['If-None-Match on a second line', { 'if-none-match': ['"x"', '"v1"'] }, stored, 'GET', 'not-modified'],
    ['If-None-Match: * matches any stored representation', { 'if-none-match': '*' }, stored, 'GET', 'not-modified'],
    ['If-None-Match not matching: full response', { 'if-none-match': '"v0"' }, stored, 'GET', undefined],
    ['If-None-Match matching for a PUT: 412', { 'if-none-match': '"v1"' }, stored, 'PUT', 'precondition-failed'],
    ['If-None-Match beats a failing If-Modified-Since', { 'if-none-match': '"v1"', 'if-modified-since': BEFORE }, stored, 'GET', 'not-modified'],
    ['If-None-Match not matching ignores a passing If-Modified-Since', { 'if-none-match': '"v0"', 'if-modified-since': AFTER }, stored, 'GET', undefined],
    ['If-None-Match without a stored ETag does not match', { 'if-none-match': '"v1"' }, { status: 200, lastModified: LM }, 'GET', undefined],
    ['If-Modified-Since equal to Last-Modified: 304', { 'if-modified-since': LM }, stored, 'GET', 'not-modified'],
    ['If-Modified-Since after Last-Modified: 304', { 'if-modified-since': AFTER }, stored, 'GET', 'not-modified'],
    ['If-Modified-Since before Last-Modified: full', { 'if-modified-since': BEFORE }, stored, 'GET', undefined],
    ['If-Modified-Since in rfc850 form', { 'if-modified-since': 'Monday, 15-Jan-24 12:00:00 GMT' }, stored, 'GET', 'not-modified'],
    ['If-Modified-Since invalid date is ignored', { 'if-modified-since': 'yesterday' }, stored, 'GET', undefined],
    ['If-Modified-Since with two lines is ignored', { 'if-modified-since': [LM, LM] }, stored, 'GET', undefined],
    ['If-Modified-Since for a POST is ignored', { 'if-modified-since': AFTER }, stored, 'POST', undefined],
    ['If-Modified-Since without Last-Modified, nor Date/receipt time given', { 'if-modified-since': AFTER }, { status: 200, etag: '"v1"' }, 'GET', undefined],
    ['If-Modified-Since falls back to the stored Date (RFC 9111 §4.3.2)', { 'if-modified-since': AFTER }, { status: 200, date: LM }, 'GET', 'not-modified'],
    ['If-Modified-Since falls back to the receipt time', { 'if-modified-since': LM }, { status: 200, responseTime: Date.parse(BEFORE) }, 'GET', 'not-modified'],
    ['If-Modified-Since before the receipt time: full', { 'if-modified-since': BEFORE }, { status: 200, responseTime: Date.parse(LM) }, 'GET', undefined],
    ['If-Match matching (strong)', { 'if-match': '"v1"' }, stored, 'GET', undefined],
    ['If-Match not matching: 412', { 'if-match': '"v0"' }, stored, 'GET', 'precondition-failed'],
    ['If-Match never matches a weak ETag (strong comparison)', { 'if-match': 'W/"v1"' }, { ...stored, etag: 'W/"v1"' }, 'GET', 'precondition-failed'],
    ['If-Match: * matches any stored representation', { 'if-match': '*' }, stored, 'GET', undefined],
    ['If-Match without a stored ETag: 412', { 'if-match': '"v1"' }, { status: 200 }, 'GET', 'precondition-failed'],
    ['If-Match failing beats a matching If-None-Match', { 'if-match': '"v0"', 'if-none-match': '"v1"' }, stored, 'GET', 'precondition-failed'],
    ['If-Match passing, then If-None-Match decides', { 'if-match': '"v1"', 'if-none-match': '"v1"' }, stored, 'GET', 'not-modified'],
    ['If-Unmodified-Since before Last-Modified: 412', { 'if-unmodified-since': BEFORE }, stored, 'GET', 'precondition-failed'],
    ['If-Unmodified-Since equal: passes', { 'if-unmodified-since': LM }, stored, 'GET', undefined],
    ['If-Unmodified-Since is ignored when If-Match is present', { 'if-match': '"v1"', 'if-unmodified-since': BEFORE }, stored, 'GET', undefined],
    ['If-Unmodified-Since without Last-Modified is ignored', { 'if-unmodified-since': BEFORE }, { status: 200, etag: '"v1"' }, 'GET', undefined],
    ['If-Unmodified-Since invalid is ignored', { 'if-unmodified-since': '0' }, stored, 'GET', undefined],
    ['not for a stored 404', { 'if-none-match': '"v1"' }, { ...stored, status: 404 }, 'GET', undefined],
    ['not for a stored 301', { 'if-match': '"v0"' }, { ...stored, status: 301 }, 'GET', undefined],
  ])('%s', (_name, headers, v, method, expected) => {
    expect(evaluatePreconditions(headers, v, method)).toBe(expected)
  })
})

describe('revalidationHeaders (RFC 9111 §4.3.1)', () => {
  it.each<[string, { etag?: string; lastModified?: string }, Record<string, string>]>([
    ['both validators', { etag: 'W/"v1"', lastModified: LM }, { 'if-none-match': 'W/"v1"', 'if-modified-since': LM }],
    ['ETag only', { etag: '"v1"' }, { 'if-none-match': '"v1"' }],
    ['Last-Modified only', { lastModified: LM }, { 'if-modified-since': LM }],
    ['an unparseable Last-Modified is not sent', { lastModified: 'recently' }, {}],
    ['none', {}, {}],
  ])('%s', (_name, v, expected) => {
    expect(revalidationHeaders(v)).toEqual(expected)
  })
})

describe('notModifiedMatches (RFC 9111 §4.3.4)', () => {
  it.each([
    ['same strong ETag', { etag: '"a"' }, { etag: '"a"' }, true],
    ['other strong ETag', { etag: '"a"' }, { etag: '"b"' }, false],
    ['strong 304 ETag vs weak stored', { etag: 'W/"a"' }, { etag: '"a"' }, false],
    ['weak 304 ETag matches weakly', { etag: '"a"' }, { etag: 'W/"a"' }, true],
    ['ETag in the 304 but none stored', {}, { etag: '"a"' }, false],
    ['same Last-Modified, no ETag', { lastModified: 'Wed, 21 Oct 2026 07:28:00 GMT' }, { 'last-modified': 'Wed, 21 Oct 2026 07:28:00 GMT' }, true],
    ['other Last-Modified', { lastModified: 'Wed, 21 Oct 2026 07:28:00 GMT' }, { 'last-modified': 'Thu, 22 Oct 2026 07:28:00 GMT' }, false],
    ['no validator in the 304', { etag: '"a"' }, {}, true],
  ])('%s', (_name, stored, headers, expected) => {
    expect(notModifiedMatches(stored, headers)).toBe(expected)
  })
})
