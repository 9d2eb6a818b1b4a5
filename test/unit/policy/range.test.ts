import { describe, expect, it } from 'vitest'
import {
  contentRange,
  MAX_RANGE_PARTS,
  multipartBody,
  multipartContentType,
  planRange,
  randomBoundary,
  unsatisfiedRange,
  type RangePlan,
  type RangeSource,
} from '../../../src/policy/range.js'
import type { HeaderMap } from '../../../src/policy/types.js'

const LM = 'Mon, 15 Jan 2024 12:00:00 GMT'
const LM_RFC850 = 'Monday, 15-Jan-24 12:00:00 GMT'
const OTHER_DATE = 'Mon, 15 Jan 2024 12:00:01 GMT'
const DATE_LATER = 'Mon, 15 Jan 2024 13:00:00 GMT'

const stored: RangeSource = { status: 200, length: 1000, etag: '"v1"', lastModified: LM, date: DATE_LATER }

const full: RangePlan = { kind: 'full' }
const unsatisfiable: RangePlan = { kind: 'unsatisfiable' }
const single = (start: number, end: number): RangePlan => ({ kind: 'single', start, end })
const multi = (...ranges: Array<[number, number]>): RangePlan => ({
  kind: 'multi',
  ranges: ranges.map(([start, end]) => ({ start, end })),
})

/** `bytes=a-b,...` from [a, b] pairs. */
const bytes = (pairs: Array<[number, number]>): string => `bytes=${pairs.map(([a, b]) => `${a}-${b}`).join(',')}`
const disjoint = (n: number): Array<[number, number]> => Array.from({ length: n }, (_, i) => [i * 2, i * 2] as [number, number])

describe('planRange: range-specs (RFC 9110 §14.1.2)', () => {
  it.each<[string, string, RangePlan]>([
    ['plain single range', 'bytes=0-499', single(0, 499)],
    ['one octet', 'bytes=999-999', single(999, 999)],
    ['open range', 'bytes=500-', single(500, 999)],
    ['open range from 0 is the whole entity, still a 206', 'bytes=0-', single(0, 999)],
    ['suffix', 'bytes=-200', single(800, 999)],
    ['suffix longer than the entity', 'bytes=-5000', single(0, 999)],
    ['end clamped to length - 1', 'bytes=900-5000', single(900, 999)],
    ['huge last-pos clamped', 'bytes=0-99999999999999999999999', single(0, 999)],
    ['start beyond the end', 'bytes=1000-', unsatisfiable],
    ['start and end beyond the end', 'bytes=1000-1100', unsatisfiable],
    ['huge first-pos', 'bytes=99999999999999999999-', unsatisfiable],
    ['suffix of 0', 'bytes=-0', unsatisfiable],
    ['all members unsatisfiable', 'bytes=2000-2999, -0', unsatisfiable],
    ['unsatisfiable member dropped', 'bytes=0-9, 2000-2999', single(0, 9)],
    ['unit is case-insensitive', 'BYTES=0-9', single(0, 9)],
    ['whitespace tolerated', ' bytes = 0 - 9 ,\t20-29 ', multi([0, 9], [20, 29])],
    ['empty list members skipped', 'bytes=,0-9,,', single(0, 9)],
  ])('%s: %s', (_name, range, expected) => {
    expect(planRange({ range }, stored, 'GET')).toEqual(expected)
  })

  // §14.2: an invalid ranges-specifier or an unknown unit → the Range field is ignored.
  it.each<[string, string]>([
    ['no "="', 'bytes 0-9'],
    ['nothing after "="', 'bytes='],
    ['only commas', 'bytes=, ,'],
    ['bare dash', 'bytes=-'],
    ['letters', 'bytes=abc'],
    ['last-pos before first-pos', 'bytes=5-2'],
    ['one invalid member spoils the set', 'bytes=0-9,x'],
    ['trailing junk', 'bytes=0-9;'],
    ['decimal', 'bytes=1.5-3'],
    ['negative', 'bytes=--5'],
    ['two dashes', 'bytes=0-5-9'],
    ['non-bytes unit', 'items=0-9'],
    ['unit "none"', 'none=0-9'],
    ['empty unit', '=0-9'],
  ])('invalid → full: %s (%s)', (_name, range) => {
    expect(planRange({ range }, stored, 'GET')).toEqual(full)
  })
})

describe('planRange: several ranges and abuse guards (RFC 9110 §14.2, §15.3.7.2)', () => {
  it.each<[string, string, RangePlan]>([
    ['two ranges', 'bytes=0-9,20-29', multi([0, 9], [20, 29])],
    ['request order kept', 'bytes=20-29,0-9', multi([20, 29], [0, 9])],
    ['suffix and open mixed', 'bytes=0-9, -10', multi([0, 9], [990, 999])],
    ['overlapping coalesced into one', 'bytes=0-9,5-14', single(0, 14)],
    ['adjacent coalesced into one', 'bytes=0-9,10-19', single(0, 19)],
    ['contained range coalesced', 'bytes=0-99,10-19', single(0, 99)],
    ['overlap coalesced, the rest kept', 'bytes=0-9,5-14,100-109', multi([0, 14], [100, 109])],
    ['merged part takes its first member\'s place', 'bytes=100-109,5-14,0-9', multi([100, 109], [0, 14])],
    ['sum of lengths above the entity → full', 'bytes=0-,0-', full],
    ['suffix overlapping an int-range past the length → full', 'bytes=-600,0-599', full],
    [`${MAX_RANGE_PARTS} disjoint ranges served`, bytes(disjoint(MAX_RANGE_PARTS)), multi(...disjoint(MAX_RANGE_PARTS))],
    [`${MAX_RANGE_PARTS + 1} disjoint ranges → full`, bytes(disjoint(MAX_RANGE_PARTS + 1)), full],
    ['100 disjoint ranges → full', bytes(disjoint(100)), full],
    ['40 one-octet ranges in a row coalesce to one', bytes(Array.from({ length: 40 }, (_, i) => [i, i])), single(0, 39)],
    [
      '40 one-octet ranges, descending, coalesce to one',
      bytes(Array.from({ length: 40 }, (_, i) => [39 - i, 39 - i])),
      single(0, 39),
    ],
  ])('%s', (_name, range, expected) => {
    expect(planRange({ range }, stored, 'GET')).toEqual(expected)
  })
})

describe('planRange: If-Range (RFC 9110 §13.1.5)', () => {
  it.each<[string, string, RangeSource, RangePlan]>([
    ['strong match', '"v1"', stored, single(0, 9)],
    ['strong match, surrounding spaces', '  "v1" ', stored, single(0, 9)],
    ['mismatch', '"v2"', stored, full],
    ['weak tag never matches', 'W/"v1"', stored, full],
    ['lowercase weak tag never matches', 'w/"v1"', stored, full],
    ['stored ETag weak', '"v1"', { ...stored, etag: 'W/"v1"' }, full],
    ['no stored ETag', '"v1"', { ...stored, etag: undefined }, full],
    ['two tags', '"v1", "v2"', stored, full],
    ['date equal, stored Date 1 h later: strong', LM, stored, single(0, 9)],
    ['date equal, obsolete RFC 850 form', LM_RFC850, stored, single(0, 9)],
    ['date equal, stored Date exactly 1 s later', LM, { ...stored, date: OTHER_DATE }, single(0, 9)],
    ['date different', OTHER_DATE, stored, full],
    ['date equal, stored Date same second: weak', LM, { ...stored, date: LM }, full],
    ['date equal, no stored Date: not known strong', LM, { ...stored, date: undefined }, full],
    ['date equal, stored Date invalid', LM, { ...stored, date: 'soon' }, full],
    ['date, no stored Last-Modified', LM, { ...stored, lastModified: undefined }, full],
    ['neither entity-tag nor date', 'yesterday', stored, full],
    ['empty', '  ', stored, full],
  ])('%s', (_name, ifRange, source, expected) => {
    expect(planRange({ range: 'bytes=0-9', 'if-range': ifRange }, source, 'GET')).toEqual(expected)
  })

  it('a false If-Range sends the full entity even when the range is unsatisfiable', () => {
    expect(planRange({ range: 'bytes=5000-', 'if-range': '"v2"' }, stored, 'GET')).toEqual(full)
    expect(planRange({ range: 'bytes=5000-', 'if-range': '"v1"' }, stored, 'GET')).toEqual(unsatisfiable)
  })

  it('If-Range without Range is ignored', () => {
    expect(planRange({ 'if-range': '"v1"' }, stored, 'GET')).toEqual(full)
  })
})

describe('planRange: when ranges apply at all (RFC 9110 §14.2)', () => {
  it.each<[string, HeaderMap, RangeSource, string, RangePlan]>([
    ['no Range', {}, stored, 'GET', full],
    ['HEAD planned like GET', { range: 'bytes=0-9' }, stored, 'HEAD', single(0, 9)],
    ['POST ignores Range', { range: 'bytes=0-9' }, stored, 'POST', full],
    ['methods are case-sensitive', { range: 'bytes=0-9' }, stored, 'get', full],
    ['stored 203 → full', { range: 'bytes=0-9' }, { ...stored, status: 203 }, 'GET', full],
    ['stored 206 → full', { range: 'bytes=0-9' }, { ...stored, status: 206 }, 'GET', full],
    ['stored 404 → full', { range: 'bytes=0-9' }, { ...stored, status: 404 }, 'GET', full],
    ['stored 301 → full', { range: 'bytes=0-9' }, { ...stored, status: 301 }, 'GET', full],
    ['Range given once as an array', { range: ['bytes=0-9'] }, stored, 'GET', single(0, 9)],
    ['Range repeated → full', { range: ['bytes=0-9', 'bytes=20-29'] }, stored, 'GET', full],
    ['empty entity, open range', { range: 'bytes=0-' }, { ...stored, length: 0 }, 'GET', unsatisfiable],
    ['empty entity, first octet', { range: 'bytes=0-0' }, { ...stored, length: 0 }, 'GET', unsatisfiable],
    ['empty entity, suffix', { range: 'bytes=-1' }, { ...stored, length: 0 }, 'GET', unsatisfiable],
    ['empty entity, invalid Range still ignored', { range: 'bytes=x' }, { ...stored, length: 0 }, 'GET', full],
    ['one-octet entity, suffix', { range: 'bytes=-5' }, { ...stored, length: 1 }, 'GET', single(0, 0)],
  ])('%s', (_name, headers, source, method, expected) => {
    expect(planRange(headers, source, method)).toEqual(expected)
  })
})

describe('Content-Range values (RFC 9110 §14.4)', () => {
  it.each<[number, number, number, string]>([
    [0, 499, 1234, 'bytes 0-499/1234'],
    [999, 999, 1000, 'bytes 999-999/1000'],
  ])('contentRange(%i, %i, %i) = %s', (start, end, length, expected) => {
    expect(contentRange(start, end, length)).toBe(expected)
  })

  it.each<[number, string]>([
    [1234, 'bytes */1234'],
    [0, 'bytes */0'],
  ])('unsatisfiedRange(%i) = %s', (length, expected) => {
    expect(unsatisfiedRange(length)).toBe(expected)
  })
})

describe('boundaries', () => {
  it('randomBoundary: 20+ token characters, different each time', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const b = randomBoundary()
      expect(b).toMatch(/^[A-Za-z0-9_-]{20,70}$/)
      seen.add(b)
    }
    expect(seen.size).toBe(50)
  })

  it.each<[string, string]>([
    ['abc_123-XYZ', 'multipart/byteranges; boundary=abc_123-XYZ'],
    ['a:b/c', 'multipart/byteranges; boundary="a:b/c"'],
    ['with space', 'multipart/byteranges; boundary="with space"'],
  ])('multipartContentType(%s)', (boundary, expected) => {
    expect(multipartContentType(boundary)).toBe(expected)
  })

  it.each<[string, string]>([
    ['empty', ''],
    ['ends in a space', 'abc '],
    ['71 characters', 'a'.repeat(71)],
    ['a quote', 'a"b'],
    ['CRLF', 'a\r\nb'],
  ])('rejects a boundary: %s', (_name, boundary) => {
    expect(() => multipartContentType(boundary)).toThrow(RangeError)
    expect(() => multipartBody([{ start: 0, end: 0 }], Buffer.from('a'), undefined, 1, boundary)).toThrow(RangeError)
  })
})

interface ParsedPart {
  headers: string[]
  body: Buffer
}

/** Reads a multipart/byteranges body back (RFC 2046 §5.1.1), byte-exact: latin1 maps octets 1:1. */
function parseMultipart(buf: Buffer, boundary: string): ParsedPart[] {
  const text = buf.toString('latin1')
  const open = `--${boundary}\r\n`
  const close = `\r\n--${boundary}--\r\n`
  expect(text.startsWith(open)).toBe(true)
  expect(text.endsWith(close)).toBe(true)
  const inner = text.slice(open.length, text.length - close.length)
  return inner.split(`\r\n--${boundary}\r\n`).map((part) => {
    const headEnd = part.indexOf('\r\n\r\n')
    expect(headEnd).toBeGreaterThan(0)
    return {
      headers: part.slice(0, headEnd).split('\r\n'),
      body: Buffer.from(part.slice(headEnd + 4), 'latin1'),
    }
  })
}

describe('multipartBody (RFC 9110 §14.6)', () => {
  // Every octet value, CR, LF and "--" included, so any text handling would show.
  const entity = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256))
  entity.write('\r\n--b0undary\r\n', 300, 'latin1')

  it('parses back into the requested parts, headers and octets exact', () => {
    const boundary = randomBoundary()
    const parts = [
      { start: 0, end: 9 },
      { start: 295, end: 320 },
      { start: 990, end: 999 },
      { start: 500, end: 500 },
    ]
    const out = multipartBody(parts, entity, 'application/octet-stream', entity.length, boundary)
    const parsed = parseMultipart(out, boundary)
    expect(parsed).toHaveLength(parts.length)
    parts.forEach((p, i) => {
      expect(parsed[i]!.headers).toEqual([
        'Content-Type: application/octet-stream',
        `Content-Range: bytes ${p.start}-${p.end}/1000`,
      ])
      expect(parsed[i]!.body.equals(entity.subarray(p.start, p.end + 1))).toBe(true)
    })
  })

  it('omits Content-Type when the stored response has none', () => {
    const out = multipartBody([{ start: 1, end: 2 }, { start: 5, end: 5 }], entity, undefined, entity.length, 'B')
    expect(parseMultipart(out, 'B').map((p) => p.headers)).toEqual([
      ['Content-Range: bytes 1-2/1000'],
      ['Content-Range: bytes 5-5/1000'],
    ])
  })

  it('lays out delimiters and CRLFs exactly', () => {
    const out = multipartBody([{ start: 0, end: 1 }, { start: 5, end: 6 }], Buffer.from('abcdefghij'), 'text/plain', 10, 'B')
    expect(out.toString('latin1')).toBe(
      '--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\nab' +
        '\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/10\r\n\r\nfg' +
        '\r\n--B--\r\n',
    )
  })

  it('works with a plan from planRange', () => {
    const plan = planRange({ range: 'bytes=-10, 0-9' }, { status: 200, length: entity.length }, 'GET')
    expect(plan).toEqual(multi([990, 999], [0, 9]))
    if (plan.kind !== 'multi') throw new Error('expected multi')
    const parsed = parseMultipart(multipartBody(plan.ranges, entity, 'image/png', entity.length, 'X'), 'X')
    expect(parsed.map((p) => p.headers[1])).toEqual(['Content-Range: bytes 990-999/1000', 'Content-Range: bytes 0-9/1000'])
    expect(parsed[0]!.body.equals(entity.subarray(990))).toBe(true)
  })

  it.each<[string, Array<{ start: number; end: number }>, number]>([
    ['no parts', [], 1000],
    ['end past the length', [{ start: 990, end: 1000 }], 1000],
    ['start after end', [{ start: 5, end: 4 }], 1000],
    ['negative start', [{ start: -1, end: 4 }], 1000],
    ['fractional offset', [{ start: 0.5, end: 4 }], 1000],
    ['body shorter than length', [{ start: 0, end: 4 }], 2000],
  ])('throws RangeError: %s', (_name, parts, length) => {
    expect(() => multipartBody(parts, entity, undefined, length, 'B')).toThrow(RangeError)
  })
})
