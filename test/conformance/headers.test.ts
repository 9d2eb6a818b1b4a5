/**
 * Conformance: which header fields are stored (cache-tests module `headers`) and how a 304
 * updates them (module `update304`). Both modules draw their per-field cases from the suite's
 * shared field list (tests/header-list.mjs): for `headers`, every field on it must be stored and
 * served again from the cache, except the ones it marks as not to be stored (hop-by-hop and
 * proxy-specific fields); for `update304`, only the fields it says must be updated (and the one it
 * says must not be, Content-Length) make `required` cases, the rest are `check`s and left out.
 * Neither module has `optimal` cases.
 */
import { describe, expect, it } from 'vitest'
import type { Got } from '../helpers/gateway.js'
import { freshHeaders, httpDate, pause, useConformance, validating, type Headers } from './suite.js'

const t = useConformance()

/** A response field as one string (repeated lines joined, as a list would be). */
function field(got: Got, name: string): string | undefined {
  const value = got.headers[name.toLowerCase()]
  return Array.isArray(value) ? value.join(', ') : value
}

/** The value the suite makes up for a field it gives no value of its own. */
const madeUp = (name: string, what: string) => `${name}-${what}`

/**
 * Fields that a shared cache must store and serve again, with the value the suite sends when it
 * names one. Content-Length needs a body of that many octets here (the suite skips its body check).
 */
const STORED: ReadonlyArray<{ name: string; value?: string }> = [
  { name: 'Test-Header' },
  { name: 'X-Test-Header' },
  { name: 'Content-Foo' },
  { name: 'X-Content-Foo' },
  { name: 'Cache-Control', value: 'max-age=3600' },
  { name: 'Content-Encoding' },
  { name: 'Content-Length', value: '10' },
  { name: 'Content-Location', value: '/bar' },
  { name: 'Content-MD5', value: 'N7UdGUp1E+RbVvZSTy1R8g==' },
  { name: 'Content-Range' },
  { name: 'Content-Security-Policy', value: "default-src 'self' cdn.example.com" },
  { name: 'Content-Type', value: 'text/plain;charset=utf-8' },
  { name: 'Clear-Site-Data', value: 'cookies' },
  { name: 'ETag', value: '"ghijkl"' },
  { name: 'Expires', value: 'Mon, 11 Jan 2038 11:11:11 GMT' },
  { name: 'Public-Key-Pins' },
  { name: 'Set-Cookie2', value: 'a=c' },
  { name: 'X-Frame-Options', value: 'sameorigin' },
  { name: 'X-XSS-Protection', value: '1; mode=block' },
]

/** Hop-by-hop (RFC 9110 §7.6.1) and proxy-specific (RFC 9111 §3.1) fields: never stored. */
const NOT_STORED: readonly string[] = [
  'Connection',
  'Keep-Alive',
  'Proxy-Authenticate',
  'Proxy-Authentication-Info',
  'Proxy-Authorization',
  'Proxy-Connection',
  'TE',
  'Transfer-Encoding',
  'Upgrade',
]

// Field names go to the origin lowercased: it adds a Content-Length of its own unless it finds one.

/** The suite's response for `headers-store-*`: Date now, the field, and max-age=3600 unless the field is Cache-Control. */
function storeResponse(name: string, value: string): Headers {
  const headers: Headers = { date: httpDate(0), [name.toLowerCase()]: value }
  if (name !== 'Cache-Control') headers['cache-control'] = 'max-age=3600'
  return headers
}

describe('headers: required', () => {
  it('headers-omit-headers-listed-in-Connection: fields named in Connection are not stored', async () => {
    const path = '/headers-omit-headers-listed-in-Connection'
    t.origin.on(path, { headers: { ...freshHeaders(), connection: 'a, b', a: '1', b: '2', c: '3' }, body: 'x' })
    await t.send(path)
    const got = await t.cached(path)
    expect(got.headers.c).toBe('3')
    expect(got.headers.a).toBeUndefined()
    expect(got.headers.b).toBeUndefined()
  })

  for (const { name, value = madeUp(name, 'store-value') } of STORED) {
    it(`headers-store-${name}: ${name} is stored and served`, async () => {
      const path = `/headers-store-${name}`
      const body = name === 'Content-Length' ? 'x'.repeat(Number(value)) : 'x'
      t.origin.on(path, { headers: storeResponse(name, value), body })
      await t.send(path)
      pause()
      const got = await t.cached(path)
      expect(field(got, name)).toBe(value)
    })
  }

  // The suite makes "cached" a setup step of this case: a cache that does not store the response
  // at all gets a setup failure, not a failed requirement. That is corral's default
  // (`setCookie: refuse`): one client's cookie is never replayed to another.
  it('headers-store-Set-Cookie: not stored by default, so the suite\'s setup step is not met; each client gets its own cookie', async () => {
    const path = '/headers-store-Set-Cookie'
    t.origin.on(path, { headers: storeResponse('Set-Cookie', 'a=c'), body: 'x' })
    await t.send(path)
    pause()
    const got = await t.notCached(path)
    expect(field(got, 'Set-Cookie')).toBe('a=c')
  })

  for (const name of NOT_STORED) {
    it(`headers-store-${name}: ${name} is not stored`, async () => {
      const path = `/headers-store-${name}`
      const value = madeUp(name, 'store-value')
      if (name === 'Transfer-Encoding') {
        // As the suite's origin sends it: no Content-Length, the body delimited by closing the
        // connection (RFC 9112 §6.3, a transfer coding other than chunked); Connection: close
        // makes the origin close at once instead of at its keep-alive timeout.
        t.origin.on(path, { headers: { ...storeResponse(name, value), connection: 'close' }, body: 'x', chunks: 1 })
      } else {
        t.origin.on(path, { headers: storeResponse(name, value), body: 'x' })
      }
      await t.send(path)
      pause()
      const got = await t.cached(path)
      expect(field(got, name)).not.toBe(value)
    })
  }
})

/**
 * The suite's three steps for `304-etag-update-response-<field>`: a response with the field at
 * value A, max-age=2 (unless the field is Cache-Control) and an ETag; after a pause, a request the
 * origin answers with a 304 carrying value B; then a request answered from the cache. Both later
 * responses must carry `expected`.
 */
async function update304(name: string, valueA: string, valueB: string, expected: string): Promise<void> {
  const path = `/304-etag-update-response-${name}`
  const etag = `"${madeUp(name, 'etag-1')}"`
  // Date is left to the origin, so that each response carries the (faked) time it was sent at.
  const response = (value: string): Headers => {
    const headers: Headers = { [name.toLowerCase()]: value, etag }
    if (name !== 'Cache-Control') headers['cache-control'] = 'max-age=2'
    return headers
  }
  const body = name === 'Content-Length' ? 'x'.repeat(Number(valueA)) : 'x'
  t.origin.on(path, validating({ headers: response(valueA), body }, response(valueB)))
  await t.send(path)
  pause()
  const { got } = await t.validated(path, 'etag')
  expect(got.status).toBe(200)
  expect(field(got, name)).toBe(expected)
  const again = await t.cached(path)
  expect(field(again, name)).toBe(expected)
}

describe('update304: required', () => {
  it('304-lm-use-stored-Test-Header: a stored field the 304 omits is still served', async () => {
    const path = '/304-lm-use-stored-Test-Header'
    const lm = 'Wed, 01 Jan 2020 00:00:00 GMT'
    t.origin.on(
      path,
      validating(
        { headers: { 'cache-control': 'max-age=2', 'last-modified': lm, date: httpDate(0), 'test-header': 'value-A' }, body: 'x' },
        { 'last-modified': lm },
      ),
    )
    await t.send(path)
    pause()
    const { got } = await t.validated(path, 'lm')
    expect(got.status).toBe(200)
    expect(got.headers['test-header']).toBe('value-A')
  })

  // The fields the suite says a 304 must update.
  for (const name of ['Test-Header', 'X-Test-Header', 'Content-Foo', 'X-Content-Foo']) {
    it(`304-etag-update-response-${name}: the 304's ${name} replaces the stored one, and is served`, async () => {
      await update304(name, madeUp(name, 'value-A'), madeUp(name, 'value-B'), madeUp(name, 'value-B'))
    })
  }

  it('304-etag-update-response-Cache-Control: the 304\'s Cache-Control replaces the stored one, and is served', async () => {
    await update304('Cache-Control', 'max-age=1', 'max-age=3600', 'max-age=3600')
  })

  // RFC 9111 §3.2: Content-Length describes the stored content, which a 304 does not replace.
  it('304-etag-update-response-Content-Length: the 304\'s Content-Length does not replace the stored one', async () => {
    await update304('Content-Length', '36', '10', '36')
  })
})
