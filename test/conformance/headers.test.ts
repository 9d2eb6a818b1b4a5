/**
 * Conformance: which header fields are stored (cache-tests module `headers`) and how a 304
 * updates them (module `update304`). The suite draws most of these cases from a shared list of
 * fields (tests/lib/header-list.mjs) that was not available to read; the per-field cases here are
 * the ones whose requirement follows directly from RFC 9111 §3.1 / §3.2.
 */
import { describe, expect, it } from 'vitest'
import { freshHeaders, httpDate, pause, useConformance, validating } from './suite.js'

const t = useConformance()

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

  for (const name of ['Test-Header', 'X-Test-Header', 'Content-Foo', 'X-Content-Foo']) {
    it(`headers-store-${name}: an ordinary field is stored and served`, async () => {
      const path = `/headers-store-${name}`
      const value = `${name}-store-value`
      t.origin.on(path, { headers: { date: httpDate(0), [name]: value, 'cache-control': 'max-age=3600' }, body: 'x' })
      await t.send(path)
      pause()
      const got = await t.cached(path)
      expect(got.headers[name.toLowerCase()]).toBe(value)
    })
  }

  // Hop-by-hop fields (RFC 9110 §7.6.1) must not be stored.
  for (const name of ['Keep-Alive', 'Proxy-Authenticate', 'Proxy-Connection', 'TE', 'Upgrade']) {
    it(`headers-store-${name}: the hop-by-hop field ${name} is not stored`, async () => {
      const path = `/headers-store-${name}`
      const value = `${name}-store-value`
      t.origin.on(path, { headers: { date: httpDate(0), [name]: value, 'cache-control': 'max-age=3600' }, body: 'x' })
      await t.send(path)
      pause()
      const got = await t.cached(path)
      expect(got.headers[name.toLowerCase()]).not.toBe(value)
    })
  }
})

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

  it('304-etag-update-response-Cache-Control: the 304\'s Cache-Control replaces the stored one, and is served', async () => {
    const path = '/304-etag-update-response-Cache-Control'
    t.origin.on(
      path,
      validating({ headers: { date: httpDate(0), 'cache-control': 'max-age=1', etag: '"cc-etag"' }, body: 'x' }, {
        date: httpDate(3),
        'cache-control': 'max-age=3600',
        etag: '"cc-etag"',
      }),
    )
    await t.send(path)
    pause()
    const { got } = await t.validated(path, 'etag')
    expect(got.headers['cache-control']).toBe('max-age=3600')
    const again = await t.cached(path)
    expect(again.headers['cache-control']).toBe('max-age=3600')
  })
})
