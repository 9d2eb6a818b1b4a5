import { describe, expect, it } from 'vitest'
import { keyQuery, normalizePath, parseCookies } from '../../src/stages/key.js'
import { hashId, variantId } from '../../src/store/ids.js'

describe('normalizePath', () => {
  it.each([
    ['/plain', '/plain'],
    ['/%7Euser', '/~user'],
    ['/a%2db', '/a-b'],
    ['/a%2fb', '/a%2Fb'], // reserved: stays encoded, hex uppercased
    ['/a%20b', '/a%20b'],
    ['/%41%42', '/AB'],
    ['/bad%zz', '/bad%zz'],
  ])('%s → %s', (input, expected) => {
    expect(normalizePath(input)).toBe(expected)
  })
})

describe('keyQuery', () => {
  const all = { mode: 'all' } as const
  it.each([
    ['', all, ''],
    ['b=2&a=1', all, 'a=1&b=2'],
    ['a=2&a=1', all, 'a=2&a=1'], // repeated parameters keep their order
    ['x=2&b=0&x=1', all, 'b=0&x=2&x=1'],
    ['x=1&b=0&x=2', all, 'b=0&x=1&x=2'],
    ['a=1&&b=2&', all, 'a=1&b=2'],
    ['x=1', { mode: 'none' } as const, ''],
    ['sort=asc&id=7&page=2', { mode: 'only', names: new Set(['id', 'page']) } as const, 'id=7&page=2'],
    ['utm_source=x&id=1', { mode: 'ignore', names: new Set(['utm_source']) } as const, 'id=1'],
    ['flag&id=1', all, 'flag&id=1'],
  ])('%s', (query, recipe, expected) => {
    expect(keyQuery(query, recipe)).toBe(expected)
  })
})

describe('ids', () => {
  it('are 22 url-safe characters and differ per key', () => {
    const a = hashId('GET http://x/a')
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(hashId('GET http://x/b')).not.toBe(a)
  })

  it('variant ids start with their primary id and change with the generation', () => {
    const v = variantId('abc', 'g1', 'c:session=1\n', 'accept-language=fr')
    expect(v).toMatch(/^abc:v:[A-Za-z0-9_-]{22}$/)
    expect(variantId('abc', 'g2', 'c:session=1\n', 'accept-language=fr')).not.toBe(v)
    expect(variantId('abc', 'g1', 'c:session=2\n', 'accept-language=fr')).not.toBe(v)
  })
})

describe('parseCookies', () => {
  it('reads name=value pairs, first one wins, values kept as sent', () => {
    const jar = parseCookies('a=1; b = 2;c=x=y; a=3; broken')
    expect([...jar]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', 'x=y'],
    ])
  })
})
