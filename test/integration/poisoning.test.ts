/**
 * Cache poisoning, tried as an attacker would: one request with a field or a form that the origin
 * reflects, then the victim's request. On a cacheable route, nothing corral forwards may change the
 * origin's answer without being part of the key; the key and what the origin is asked must agree.
 */
import { describe, expect, it } from 'vitest'
import { UNKEYED_OVERRIDES } from '../../src/policy/unkeyed.js'
import { useGateway } from '../helpers/gateway.js'
import { rawExchange } from '../helpers/sockets.js'

const t = useGateway(() => ({
  routes: [
    { name: 'open', match: { path: '/open/' }, cache: { forwardHeaders: ['x-forwarded-prefix'] } },
    { name: 'keyed', match: { path: '/keyed/' }, cache: { key: { headers: ['x-http-method-override'] } } },
    { name: 'strict', match: { path: '/strict/' }, cache: { stripHeaders: ['x-tenant'] } },
    { name: 'ignore', match: { path: '/ignore/' }, cache: { key: { query: { ignore: ['utm_source'] } } } },
    { name: 'none', match: { path: '/none/' }, cache: { key: { query: 'none' } } },
    { name: 'pass', match: { path: '/pass/' }, cache: false },
    { name: 'default', cache: true },
  ],
}))

/** An origin that answers with what it was asked, and with the value of one request field. */
function reflect(field: string): void {
  t.origin.otherwise((r) => ({ headers: { 'cache-control': 'max-age=60' }, body: `${r.method} ${r.url} ${field}=${String(r.headers[field] ?? '-')}` }))
}

/** A request written by hand (duplicate fields, absolute-form targets), and the raw answer. */
function raw(text: string): Promise<string> {
  return rawExchange(t.gateway.urls[0]!, text)
}

describe('unkeyed request fields do not reach the origin on cacheable routes', () => {
  it.each(UNKEYED_OVERRIDES)('%s: the attacker’s value is not forwarded, and the victim gets the plain answer', async (field) => {
    reflect(field)
    const path = `/victim/${field}`
    const attack = await t.get(path, { headers: { [field]: 'evil.example' } })
    expect(attack.body).toBe(`GET ${path} ${field}=-`)
    expect(t.origin.seen.at(-1)?.headers[field]).toBeUndefined()
    expect(await t.get(path)).toMatchObject({ cacheStatus: 'HIT', body: `GET ${path} ${field}=-` })
  })

  it('X-Forwarded-Host, -Proto and -For are corral’s own: the client’s X-Forwarded-Host never reaches the origin', async () => {
    reflect('x-forwarded-host')
    const got = await t.get('/xfh', { headers: { 'x-forwarded-host': 'evil.example' } })
    expect(got.body).toBe(`GET /xfh x-forwarded-host=${new URL(t.gateway.urls[0]!).host}`)
  })

  it('a route may let one of them through by name (forwardHeaders)', async () => {
    reflect('x-forwarded-prefix')
    expect((await t.get('/open/a', { headers: { 'x-forwarded-prefix': '/shop' } })).body).toBe('GET /open/a x-forwarded-prefix=/shop')
  })

  it('a field the route keys on is forwarded, and each value is its own entry', async () => {
    reflect('x-http-method-override')
    expect((await t.get('/keyed/a', { headers: { 'x-http-method-override': 'DELETE' } })).body).toBe('GET /keyed/a x-http-method-override=DELETE')
    expect(await t.get('/keyed/a')).toMatchObject({ cacheStatus: 'MISS', body: 'GET /keyed/a x-http-method-override=-' })
    expect(t.origin.hitsOn('/keyed/a')).toBe(2)
  })

  it('a route may drop fields of its own (stripHeaders)', async () => {
    reflect('x-tenant')
    expect((await t.get('/strict/a', { headers: { 'x-tenant': 'other' } })).body).toBe('GET /strict/a x-tenant=-')
  })

  it('an uncached route forwards what the client sent, as it did', async () => {
    reflect('x-original-url')
    expect((await t.get('/pass/a', { headers: { 'x-original-url': '/admin' } })).body).toBe('GET /pass/a x-original-url=/admin')
  })
})

describe('one request, one host (RFC 9112 §3.2, RFC 9110 §7.2)', () => {
  it('two Host fields: 400, and the origin never sees the request', async () => {
    const answer = await raw('GET /two-hosts HTTP/1.1\r\nHost: good.example\r\nHost: evil.example\r\nConnection: close\r\n\r\n')
    expect(answer).toMatch(/^HTTP\/1\.1 400/)
    expect(answer).toContain('more than one Host header')
    expect(t.origin.hits).toBe(0)
  })

  it.each(['evil example', 'a:b:c', 'good.example:99999', '[::1', 'good.example/path', 'user@good.example'])('an invalid Host (%s): 400', async (host) => {
    const answer = await raw(`GET /bad-host HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
    expect(answer).toMatch(/^HTTP\/1\.1 400/)
    expect(t.origin.hits).toBe(0)
  })

  it.each(['good.example', 'good.example:8080', '127.0.0.1', '[::1]:8080', 'under_score.example.'])('a valid Host (%s) is served', async (host) => {
    t.origin.otherwise({ headers: { 'cache-control': 'max-age=60' }, body: 'fine' })
    expect(await raw(`GET /good-host HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200/)
  })

  it('HTTP/1.1 without Host: 400', async () => {
    expect(await raw('GET /no-host HTTP/1.1\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/)
    expect(t.origin.hits).toBe(0)
  })

  it("an absolute-form target's authority wins over Host: for the key and for what the origin is told", async () => {
    reflect('x-forwarded-host')
    const answer = await raw('GET http://real.example/abs HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n')
    expect(answer).toContain('GET /abs x-forwarded-host=real.example')
    // The entry is real.example's: a request for other.example/abs is not served it.
    expect(await t.get('/abs', { headers: { host: 'other.example' } })).toMatchObject({ cacheStatus: 'MISS' })
    expect(await t.get('/abs', { headers: { host: 'real.example' } })).toMatchObject({ cacheStatus: 'HIT' })
  })
})

describe('the key and the forwarded request agree', () => {
  it('percent-encoded unreserved characters: one key, and the origin is asked for the normalized path', async () => {
    reflect('x')
    expect((await t.get('/norm/%62%7E')).body).toBe('GET /norm/b~ x=-')
    expect(await t.get('/norm/b~')).toMatchObject({ cacheStatus: 'HIT' })
    expect(t.origin.seen.map((r) => r.url)).toEqual(['/norm/b~'])
  })

  it('other percent-encodings are not decoded (their hex is uppercased on both sides)', async () => {
    reflect('x')
    expect((await t.get('/norm/a%2fb')).body).toBe('GET /norm/a%2Fb x=-')
    expect(await t.get('/norm/a/b')).toMatchObject({ cacheStatus: 'MISS' })
  })

  it('parameters are sorted by name, and the origin is asked the sorted query', async () => {
    reflect('x')
    expect((await t.get('/sorted?b=2&a=1')).body).toBe('GET /sorted?a=1&b=2 x=-')
    expect(await t.get('/sorted?a=1&b=2')).toMatchObject({ cacheStatus: 'HIT' })
  })

  it('repeated parameters keep their order: x=1&x=2 and x=2&x=1 are two requests', async () => {
    reflect('x')
    expect((await t.get('/repeated?x=1&x=2')).body).toBe('GET /repeated?x=1&x=2 x=-')
    expect(await t.get('/repeated?x=2&x=1')).toMatchObject({ cacheStatus: 'MISS', body: 'GET /repeated?x=2&x=1 x=-' })
  })

  it('a parameter left out of the key is left out of the request too', async () => {
    reflect('x')
    expect((await t.get('/ignore/a?utm_source=mail&id=7')).body).toBe('GET /ignore/a?id=7 x=-')
    expect((await t.get('/none/a?id=7')).body).toBe('GET /none/a x=-')
  })
})
