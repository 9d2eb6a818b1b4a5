/**
 * Conformance: Age, Date, query strings, cookies (cache-tests module `other`), Authorization
 * (module `authorization`) and methods (module `method`).
 */
import { describe, expect, it } from 'vitest'
import { freshHeaders, httpDate, pause, useConformance } from './suite.js'

const t = useConformance()

describe('other: required', () => {
  it('other-age-gen: a response served from the cache carries Age', async () => {
    t.origin.on('/other-age-gen', { headers: freshHeaders(), body: 'x' })
    await t.send('/other-age-gen')
    pause()
    const got = await t.cached('/other-age-gen')
    expect(got.age).toBeGreaterThan(2)
  })

  it('other-age-update-expires: Age grows on a response fresh by Expires', async () => {
    t.origin.on('/other-age-update-expires', { headers: { expires: httpDate(30 * 86_400), date: httpDate(0), age: '30' }, body: 'x' })
    await t.send('/other-age-update-expires')
    pause()
    const got = await t.cached('/other-age-update-expires')
    expect(got.age).toBeGreaterThan(32)
  })

  it('other-age-update-max-age: Age grows on a response fresh by max-age', async () => {
    t.origin.on('/other-age-update-max-age', { headers: { ...freshHeaders(), age: '30' }, body: 'x' })
    await t.send('/other-age-update-max-age')
    pause()
    const got = await t.cached('/other-age-update-max-age')
    expect(got.age).toBeGreaterThan(32)
  })

  it('other-date-update: the stored Date is served unchanged', async () => {
    const headers = freshHeaders()
    t.origin.on('/other-date-update', { headers, body: 'x' })
    await t.send('/other-date-update')
    pause()
    const got = await t.cached('/other-date-update')
    expect(got.headers.date).toBe(headers.date)
  })

  it('other-date-update-expires: the stored Date is served unchanged when Expires gives freshness', async () => {
    const date = httpDate(0)
    t.origin.on('/other-date-update-expires', { headers: { expires: httpDate(30 * 86_400), date }, body: 'x' })
    await t.send('/other-date-update-expires')
    pause()
    const got = await t.cached('/other-date-update-expires')
    expect(got.headers.date).toBe(date)
  })

  it('query-args-different: different query strings are different cache keys', async () => {
    t.origin.on('/query-args-different', (r) => ({ headers: freshHeaders(), body: r.url }))
    await t.send('/query-args-different?test=1')
    const got = await t.notCached('/query-args-different?test=2')
    expect(got.body).toBe('/query-args-different?test=2')
  })
})

describe('other: optimal', () => {
  it('query-args-same: a query string does not stop reuse', async () => {
    t.origin.on('/query-args-same', { headers: freshHeaders(), body: 'x' })
    await t.send('/query-args-same?test=same')
    await t.cached('/query-args-same?test=same')
  })

  // FAILS: corral never stores a response carrying Set-Cookie (README: "Set-Cookie ... responses never stored"); the second request goes to the origin.
  it.skip('other-set-cookie: a fresh response with Set-Cookie is reused', async () => {
    t.origin.on('/other-set-cookie', { headers: { ...freshHeaders(), 'set-cookie': 'a=b' }, body: 'x' })
    await t.send('/other-set-cookie')
    await t.cached('/other-set-cookie')
  })

  it('other-cookie: a request with Cookie still gets the stored response', async () => {
    t.origin.on('/other-cookie', { headers: freshHeaders(), body: 'x' })
    await t.send('/other-cookie')
    await t.cached('/other-cookie', { headers: { cookie: 'a=b' } })
  })
})

describe('authorization: required', () => {
  it('other-authorization: a response to a request with Authorization is not reused by a shared cache', async () => {
    t.origin.on('/other-authorization', { headers: freshHeaders(), body: 'x' })
    await t.send('/other-authorization', { headers: { authorization: 'FOO' } })
    expect(t.lastSeen('/other-authorization')?.headers.authorization).toBe('FOO')
    await t.notCached('/other-authorization')
  })
})

describe('authorization: optimal', () => {
  for (const [id, cc] of [
    ['other-authorization-public', 'max-age=3600, public'],
    ['other-authorization-must-revalidate', 'max-age=3600, must-revalidate'],
    ['other-authorization-smaxage', 's-maxage=3600'],
  ] as const) {
    it(`${id}: an Authorization response marked "${cc}" is reused`, async () => {
      const path = `/${id}`
      t.origin.on(path, { headers: { 'cache-control': cc, date: httpDate(0) }, body: 'x' })
      await t.send(path, { headers: { authorization: 'FOO' } })
      expect(t.lastSeen(path)?.headers.authorization).toBe('FOO')
      pause()
      await t.cached(path)
    })
  }
})

describe('method: optimal', () => {
  it('method-POST: a POST response with Content-Location naming its own URL and explicit freshness is reused for GET', async () => {
    const path = '/method-POST'
    t.origin.on(path, { headers: { expires: httpDate(30 * 86_400), 'content-location': path, date: httpDate(0) }, body: 'posted' })
    await t.send(path, { method: 'POST', body: '12345', headers: { 'content-type': 'text/plain' } })
    pause()
    await t.cached(path)
  })
})
