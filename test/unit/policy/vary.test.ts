import { describe, expect, it } from 'vitest'
import type { HeaderMap } from '../../../src/policy/types.js'
import { canonicalize, hasVaryStar, isCanonical, normalizeFieldValue, parseVary, varySignature } from '../../../src/policy/vary.js'

describe('parseVary', () => {
  it.each<[string, HeaderMap, readonly string[] | '*']>([
    ['no Vary', {}, []],
    ['lowercased, sorted', { vary: 'Accept-Language, Accept-Encoding' }, ['accept-encoding', 'accept-language']],
    ['deduplicated across lines', { vary: ['accept-encoding', 'Accept-Encoding, origin'] }, ['accept-encoding', 'origin']],
    ['empty members skipped', { vary: ' , accept ,' }, ['accept']],
    ['empty Vary', { vary: '' }, []],
    ['*', { vary: '*' }, '*'],
    ['*, *', { vary: '*, *' }, '*'],
    ['Foo, *', { vary: 'Foo, *' }, '*'],
    ['* on a second line', { vary: ['', '*'] }, '*'],
  ])('%s', (_name, headers, expected) => {
    expect(parseVary(headers)).toEqual(expected)
    expect(hasVaryStar(headers)).toBe(expected === '*')
  })
})

describe('varySignature', () => {
  const names = ['accept-encoding', 'x-tenant']
  it.each<[string, HeaderMap, HeaderMap, boolean]>([
    ['same values', { 'accept-encoding': 'gzip', 'x-tenant': 'a' }, { 'accept-encoding': 'gzip', 'x-tenant': 'a' }, true],
    ['different values', { 'x-tenant': 'a' }, { 'x-tenant': 'b' }, false],
    ['absent differs from empty', {}, { 'x-tenant': '' }, false],
    ['whitespace around commas does not matter', { 'accept-encoding': 'gzip,br' }, { 'accept-encoding': ' gzip ,  br ' }, true],
    ['repeated lines equal the combined line', { 'accept-encoding': ['gzip', 'br'] }, { 'accept-encoding': 'gzip, br' }, true],
    ['accept-encoding is case-insensitive', { 'accept-encoding': 'GZIP' }, { 'accept-encoding': 'gzip' }, true],
    ['member order is kept (preference)', { 'accept-encoding': 'gzip, br' }, { 'accept-encoding': 'br, gzip' }, false],
    ['q-values matter', { 'accept-encoding': 'gzip;q=1, br;q=0.5' }, { 'accept-encoding': 'gzip;q=0.5, br;q=1' }, false],
    ['whitespace around ; and = in accept lists does not matter', { 'accept-encoding': 'gzip; q=0.5' }, { 'accept-encoding': 'gzip;q=0.5' }, true],
    ['other fields keep their case', { 'x-tenant': 'Acme' }, { 'x-tenant': 'acme' }, false],
    ['empty list members are dropped', { 'accept-encoding': 'gzip,,br' }, { 'accept-encoding': 'gzip, br' }, true],
  ])('%s', (_name, a, b, same) => {
    expect(varySignature(names, a) === varySignature(names, b)).toBe(same)
  })

  it.each<[string, string, string, boolean]>([
    ['media types and parameter names are case-insensitive', 'Application/JSON;Version=A', 'application/json;version=A', true],
    ['parameter values keep their case (RFC 9110 §5.6.6)', 'application/json;version=A', 'application/json;version=a', false],
    ['a quoted parameter value keeps its case too', 'text/plain;x="A"', 'text/plain;x="a"', false],
  ])('Accept: %s', (_name, a, b, same) => {
    expect(varySignature(['accept'], { accept: a }) === varySignature(['accept'], { accept: b })).toBe(same)
  })

  it('is the same for the same request and different per field', () => {
    expect(varySignature(['a', 'b'], { a: '1' })).toBe('a=1\nb')
    expect(varySignature(['a', 'b'], { b: '1' })).toBe('a\nb=1')
    expect(varySignature([], { a: '1' })).toBe('')
  })

  it('returns canonical values without copying them', () => {
    const value = 'gzip, deflate, br, zstd'
    expect(normalizeFieldValue('accept-encoding', value)).toBe(value)
    expect(normalizeFieldValue('accept-language', 'en-US,en;q=0.9')).toBe('en-us, en;q=0.9')
    expect(normalizeFieldValue('x-list', ' a ,"b , c" ')).toBe('a, "b , c"')
  })

  it('the fast path agrees with canonicalize on every short string', () => {
    const alphabet = ['a', 'B', ' ', '\t', ',', ';', '=', '"', '\\']
    const check = (s: string): void => {
      for (const [ci, keep] of [
        [false, false],
        [true, false],
        [true, true],
      ] as const) {
        const canon = canonicalize(s, ci, keep)
        if (isCanonical(s, ci, keep) !== (canon === s)) throw new Error(`fast path disagrees for ${JSON.stringify(s)} (ci=${ci}, keep=${keep})`)
        if (canonicalize(canon, ci, keep) !== canon) throw new Error(`not idempotent for ${JSON.stringify(s)} (ci=${ci}, keep=${keep})`)
      }
    }
    const walk = (prefix: string, depth: number): void => {
      check(prefix)
      if (depth === 0) return
      for (const ch of alphabet) walk(prefix + ch, depth - 1)
    }
    walk('', 5)
  })
})

describe('Accept-Language is compared by preference, not by order (RFC 9110 §12.4.2)', () => {
  it.each([
    ['en, de', 'de, en'],
    ['en;q=0.5, de', 'de;q=1.0, EN; q=0.5'],
    ['fr;q=0.8, en, de;q=0.8', 'en, de;q=0.8, fr;q=0.8'],
  ])('%s ≡ %s', (a, b) => {
    expect(varySignature(['accept-language'], { 'accept-language': a })).toBe(varySignature(['accept-language'], { 'accept-language': b }))
  })

  it.each([
    ['en;q=0.5, de', 'en, de;q=0.5'],
    ['en', 'en-us'],
    // an invalid q-value is not understood: the member order the client wrote stays as it is
    ['en;q=0x1, de', 'de, en;q=0x1'],
    ['en;q=abc, de', 'en;q=0, de'],
    ['en;q=1e-1, de', 'en;q=0.1, de'],
    // a quoted string (never valid here) is left alone rather than split inside
    ['x;a="1, 2"', '2", x;a="1'],
  ])('%s ≢ %s', (a, b) => {
    expect(varySignature(['accept-language'], { 'accept-language': a })).not.toBe(varySignature(['accept-language'], { 'accept-language': b }))
  })

  it('other list fields keep their order', () => {
    expect(varySignature(['accept-encoding'], { 'accept-encoding': 'gzip, br' })).not.toBe(
      varySignature(['accept-encoding'], { 'accept-encoding': 'br, gzip' }),
    )
  })
})
