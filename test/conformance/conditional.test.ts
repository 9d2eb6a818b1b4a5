/**
 * Conformance: conditional requests (cache-tests modules `conditional-etag` and `conditional-lm`):
 * corral answering clients' conditionals from a fresh entry, and validating stale entries.
 */
import { describe, expect, it } from 'vitest'
import { freshHeaders, httpDate, pause, useConformance, validating, type Headers } from './suite.js'

const t = useConformance()

/** RFC 850 form of an HTTP-date, e.g. "Thursday, 18-Aug-50 02:01:18 GMT". */
function rfc850(seconds: number): string {
  const d = new Date(Date.now() + seconds * 1000)
  const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
  const two = (n: number) => String(n).padStart(2, '0')
  return `${days[d.getUTCDay()]}, ${two(d.getUTCDate())}-${months[d.getUTCMonth()]}-${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} GMT`
}

async function storeFresh(path: string, extra: Headers): Promise<void> {
  t.origin.on(path, validating({ headers: { ...freshHeaders(), ...extra }, body: path }))
  await t.send(path)
}

describe('conditional-etag: required', () => {
  it('conditional-304-etag: a 304 from the cache carries the ETag', async () => {
    await storeFresh('/conditional-304-etag', { etag: '"abcdef"' })
    const got = await t.cached('/conditional-304-etag', { headers: { 'if-none-match': '"abcdef"' } })
    expect(got.status).toBe(304)
    expect(got.headers.etag).toBe('"abcdef"')
  })

  it('conditional-etag-precedence: If-None-Match takes precedence over If-Modified-Since', async () => {
    await storeFresh('/conditional-etag-precedence', { 'last-modified': httpDate(-5000), etag: '"abcdef"' })
    const got = await t.cached('/conditional-etag-precedence', {
      headers: { 'if-none-match': '"abcdef"', 'if-modified-since': httpDate(-1) },
    })
    expect(got.status).toBe(304)
  })

  it('conditional-etag-vary-headers: a validation request carries the fields the stored response varies on', async () => {
    const path = '/conditional-etag-vary-headers'
    t.origin.on(path, validating({ headers: { expires: httpDate(1), etag: '"abcdef"', date: httpDate(0), vary: 'Abc' }, body: 'x' }))
    await t.send(path, { headers: { abc: '123' } })
    pause()
    const { seen } = await t.validated(path, 'etag', { headers: { abc: '123' } })
    expect(seen.headers.abc).toBe('123')
  })
})

describe('conditional-etag: optimal', () => {
  for (const [id, etag, inm] of [
    ['conditional-etag-strong-respond', '"abcdef"', '"abcdef"'],
    ['conditional-etag-weak-respond', 'W/"abcdef"', 'W/"abcdef"'],
    ['conditional-etag-strong-respond-multiple-first', '"abcdef"', '"abcdef", "1234", "5678"'],
    ['conditional-etag-strong-respond-multiple-second', '"abcdef"', '"1234", "abcdef", "5678"'],
    ['conditional-etag-strong-respond-multiple-last', '"abcdef"', '"1234", "5678", "abcdef"'],
  ] as const) {
    it(`${id}: If-None-Match ${inm} against a fresh ${etag} is answered 304 by the cache`, async () => {
      await storeFresh(`/${id}`, { etag })
      const got = await t.cached(`/${id}`, { headers: { 'if-none-match': inm } })
      expect(got.status).toBe(304)
    })
  }

  for (const [id, etag] of [
    ['conditional-etag-strong-generate', '"abcdef"'],
    ['conditional-etag-weak-generate-weak', 'W/"abcdef"'],
  ] as const) {
    it(`${id}: a stale response with ETag ${etag} is validated with If-None-Match`, async () => {
      const path = `/${id}`
      t.origin.on(path, validating({ headers: { 'cache-control': 'max-age=2', 'template-a': '1', etag }, body: 'x' }))
      await t.send(path)
      pause()
      const { got, seen } = await t.validated(path, 'etag')
      expect(seen.headers['if-none-match']).toBe(etag)
      expect(got).toMatchObject({ status: 200, body: 'x' })
    })
  }
})

describe('conditional-lm: optimal', () => {
  const lmHeaders = (maxAge: number): Headers => ({
    'cache-control': `max-age=${maxAge}`,
    'last-modified': httpDate(-3000),
    date: httpDate(0),
  })

  it('conditional-lm-fresh: If-Modified-Since equal to a fresh Last-Modified is answered 304', async () => {
    const path = '/conditional-lm-fresh'
    t.origin.on(path, validating({ headers: lmHeaders(100_000), body: 'x' }))
    await t.send(path)
    pause()
    const got = await t.cached(path, { headers: { 'if-modified-since': httpDate(-3003) } })
    expect(got.status).toBe(304)
  })

  it('conditional-lm-fresh-earlier: If-Modified-Since later than Last-Modified is answered 304', async () => {
    const path = '/conditional-lm-fresh-earlier'
    t.origin.on(path, validating({ headers: lmHeaders(100_000), body: 'x' }))
    await t.send(path)
    pause()
    const got = await t.cached(path, { headers: { 'if-modified-since': httpDate(-2000) } })
    expect(got.status).toBe(304)
  })

  it('conditional-lm-stale: the same against a stale entry is answered 304 after validating it', async () => {
    const path = '/conditional-lm-stale'
    const headers = lmHeaders(2)
    t.origin.on(path, validating({ headers, body: 'x' }))
    await t.send(path)
    pause()
    const { got } = await t.validated(path, 'lm', { headers: { 'if-modified-since': headers['last-modified'] as string } })
    expect(got.status).toBe(304)
  })

  // The suite's "magic IMS" sends the stored response's own Date as If-Modified-Since.
  it('conditional-lm-fresh-no-lm: If-Modified-Since equal to the Date of a fresh response without Last-Modified is answered 304', async () => {
    const path = '/conditional-lm-fresh-no-lm'
    const date = httpDate(0)
    t.origin.on(path, { headers: { 'cache-control': 'max-age=10000', date }, body: 'x' })
    await t.send(path)
    pause()
    const got = await t.cached(path, { headers: { 'if-modified-since': date } })
    expect(got.status).toBe(304)
  })

  it('conditional-lm-fresh-rfc850: an If-Modified-Since in RFC 850 form is understood', async () => {
    const path = '/conditional-lm-fresh-rfc850'
    t.origin.on(path, validating({ headers: lmHeaders(10_000), body: 'x' }))
    await t.send(path)
    pause()
    const got = await t.cached(path, { headers: { 'if-modified-since': rfc850(-3003) } })
    expect(got.status).toBe(304)
  })
})
