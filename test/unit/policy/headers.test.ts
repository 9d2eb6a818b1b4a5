import { describe, expect, it } from 'vitest'
import { parseResponseCacheControl } from '../../../src/policy/cache-control.js'
import { HOP_BY_HOP, mergeRevalidated, stripHopByHop, toStoredHeaders } from '../../../src/policy/headers.js'
import type { HeaderMap, HeaderPairs } from '../../../src/policy/types.js'

describe('stripHopByHop', () => {
  it.each<[string, HeaderMap, Record<string, string | string[]>]>([
    ['removes the hop-by-hop fields', Object.fromEntries([...HOP_BY_HOP].map((n) => [n, 'x']).concat([['accept', '*/*']])), { accept: '*/*' }],
    ['removes fields named in Connection', { connection: 'X-A, x-b', 'x-a': '1', 'x-b': '2', 'x-c': '3' }, { 'x-c': '3' }],
    ['Connection on several lines', { connection: ['x-a', 'x-b'], 'x-a': '1', 'x-b': '2' }, {}],
    ['keeps repeated fields as arrays', { 'set-cookie': ['a=1', 'b=2'] }, { 'set-cookie': ['a=1', 'b=2'] }],
    ['drops undefined values', { a: undefined, b: '1' }, { b: '1' }],
  ])('%s', (_name, headers, expected) => {
    expect(stripHopByHop(headers)).toEqual(expected)
  })
})

describe('toStoredHeaders (RFC 9111 §3.1)', () => {
  it.each<[string, HeaderMap, Array<[string, string]>]>([
    ['ordinary fields are kept', { 'content-type': 'text/plain', 'x-test': 'a', 'cache-status': 'origin; hit' }, [['content-type', 'text/plain'], ['x-test', 'a'], ['cache-status', 'origin; hit']]],
    ['hop-by-hop fields and Age are not', { 'transfer-encoding': 'chunked', connection: 'close', 'keep-alive': 'timeout=5', age: '10', upgrade: 'h2c', a: '1' }, [['a', '1']]],
    ['proxy-specific fields are not', { 'proxy-authenticate': 'Basic', 'proxy-authentication-info': 'x', a: '1' }, [['a', '1']]],
    ['fields named in Connection are not', { connection: 'a, b', a: '1', b: '2', c: '3' }, [['c', '3']]],
    ['qualified no-cache fields are not', { 'cache-control': 'no-cache="a, b", max-age=60', a: '1', b: '2', c: '3' }, [['cache-control', 'no-cache="a, b", max-age=60'], ['c', '3']]],
    ['qualified private fields are not', { 'cache-control': 'private="X-User"', 'x-user': 'me', 'x-other': 'ok' }, [['cache-control', 'private="X-User"'], ['x-other', 'ok']]],
    ['each Set-Cookie value is its own pair', { 'set-cookie': ['a=1', 'b=2'] }, [['set-cookie', 'a=1'], ['set-cookie', 'b=2']]],
  ])('%s', (_name, headers, expected) => {
    expect(toStoredHeaders(headers, parseResponseCacheControl(headers['cache-control']))).toEqual(expected)
  })
})

describe('mergeRevalidated (RFC 9111 §3.2, §4.3.4)', () => {
  const stored: HeaderPairs = [
    ['content-type', 'text/plain'],
    ['cache-control', 'max-age=1'],
    ['x-multi', '1'],
    ['x-multi', '2'],
    ['content-encoding', 'gzip'],
    ['etag', '"v1"'],
    ['x-kept', 'yes'],
  ]
  it.each<[string, HeaderMap, Array<[string, string]>]>([
    ['fields not in the 304 are kept', {}, [...stored] as Array<[string, string]>],
    [
      'fields in the 304 replace all stored values of that name, in place',
      { 'cache-control': 'max-age=3600', 'x-multi': '3', 'content-type': 'text/plain;charset=utf-8' },
      [['content-type', 'text/plain;charset=utf-8'], ['cache-control', 'max-age=3600'], ['x-multi', '3'], ['content-encoding', 'gzip'], ['etag', '"v1"'], ['x-kept', 'yes']],
    ],
    [
      'new fields are appended',
      { 'x-new': ['a', 'b'] },
      [...stored, ['x-new', 'a'], ['x-new', 'b']] as Array<[string, string]>,
    ],
    [
      'Content-Length, Content-Encoding, hop-by-hop, Age and Set-Cookie are not taken from the 304',
      { 'content-length': '0', 'content-encoding': 'br', 'transfer-encoding': 'chunked', connection: 'x-secret', 'x-secret': 's', age: '5', 'set-cookie': 'a=b' },
      [...stored] as Array<[string, string]>,
    ],
    [
      'a 304 Cache-Control naming a private field drops it',
      { 'cache-control': 'private="x-kept", max-age=60' },
      [['content-type', 'text/plain'], ['cache-control', 'private="x-kept", max-age=60'], ['x-multi', '1'], ['x-multi', '2'], ['content-encoding', 'gzip'], ['etag', '"v1"']],
    ],
  ])('%s', (_name, fresh, expected) => {
    expect(mergeRevalidated(stored, fresh)).toEqual(expected)
  })
})
