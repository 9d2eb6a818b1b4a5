/**
 * Conformance: CDN-Cache-Control (RFC 9213; cache-tests module `cdn-cache-control`). These are
 * `cdn_only` in the suite; corral is a gateway cache and honours CDN-Cache-Control by default.
 */
import { describe, it } from 'vitest'
import { httpDate, pause, useConformance, type Headers } from './suite.js'

const t = useConformance()

async function store(path: string, headers: Headers, thenPause = true): Promise<void> {
  t.origin.on(path, { headers, body: path })
  await t.send(path)
  if (thenPause) pause()
}

describe('cdn-cache-control: required', () => {
  it('cdn-max-age-age: an Age above CDN-Cache-Control max-age makes it stale', async () => {
    await store('/cdn-max-age-age', { date: httpDate(0), 'cdn-cache-control': 'max-age=3600', age: '7200' })
    await t.notCached('/cdn-max-age-age')
  })

  it('cdn-max-age-0: CDN-Cache-Control: max-age=0 is not reused', async () => {
    await store('/cdn-max-age-0', { 'cdn-cache-control': 'max-age=0' })
    await t.notCached('/cdn-max-age-0')
  })

  it('cdn-max-age-0-expires: CDN-Cache-Control: max-age=0 wins over a future Expires', async () => {
    await store('/cdn-max-age-0-expires', { 'cdn-cache-control': 'max-age=0', expires: httpDate(10000), date: httpDate(0) })
    await t.notCached('/cdn-max-age-0-expires')
  })

  it('cdn-max-age-long-cc-max-age: a short CDN-Cache-Control max-age wins over a long Cache-Control max-age', async () => {
    await store('/cdn-max-age-long-cc-max-age', { 'cache-control': 'max-age=3600', 'cdn-cache-control': 'max-age=1' })
    await t.notCached('/cdn-max-age-long-cc-max-age')
  })

  it('cdn-private: CDN-Cache-Control: private is not reused, even with Cache-Control max-age and Expires', async () => {
    await store(
      '/cdn-private',
      { 'cdn-cache-control': 'private', 'cache-control': 'max-age=10000', expires: httpDate(10000), date: httpDate(0) },
      false,
    )
    await t.notCached('/cdn-private')
  })

  it('cdn-no-cache: CDN-Cache-Control: no-cache is not reused unvalidated', async () => {
    await store(
      '/cdn-no-cache',
      { 'cdn-cache-control': 'no-cache', 'cache-control': 'max-age=10000', expires: httpDate(10000), date: httpDate(0) },
      false,
    )
    await t.notCached('/cdn-no-cache')
  })

  it('cdn-no-store-cc-fresh: CDN-Cache-Control: no-store wins over Cache-Control max-age and Expires', async () => {
    await store('/cdn-no-store-cc-fresh', {
      'cache-control': 'max-age=10000',
      'cdn-cache-control': 'no-store',
      expires: httpDate(10000),
      date: httpDate(0),
    })
    await t.notCached('/cdn-no-store-cc-fresh')
  })

  it('cdn-fresh-cc-nostore: a fresh CDN-Cache-Control max-age wins over Cache-Control: no-store', async () => {
    await store('/cdn-fresh-cc-nostore', { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=10000' })
    await t.cached('/cdn-fresh-cc-nostore')
  })

  it('cdn-cc-invalid-sh-type-unknown: an unparseable CDN-Cache-Control is ignored (Cache-Control: no-store applies)', async () => {
    await store('/cdn-cc-invalid-sh-type-unknown', { 'cdn-cache-control': 'max-age=10000, &&&&&', 'cache-control': 'no-store' })
    await t.notCached('/cdn-cc-invalid-sh-type-unknown')
  })

  it('cdn-cc-invalid-sh-type-wrong: a CDN-Cache-Control max-age of the wrong type is ignored', async () => {
    await store('/cdn-cc-invalid-sh-type-wrong', { 'cdn-cache-control': 'max-age="10000"', 'cache-control': 'no-store' })
    await t.notCached('/cdn-cc-invalid-sh-type-wrong')
  })
})

describe('cdn-cache-control: optimal', () => {
  for (const [id, value] of [
    ['cdn-max-age', 'max-age=3600'],
    ['cdn-max-age-max', 'max-age=2147483648'],
    ['cdn-max-age-max-plus', 'max-age=99999999999'],
    ['cdn-max-age-extension', 'foobar, max-age=3600'],
  ] as const) {
    it(`${id}: CDN-Cache-Control: ${value} is reused`, async () => {
      await store(`/${id}`, { 'cdn-cache-control': value })
      await t.cached(`/${id}`)
    })
  }

  it('cdn-max-age-expires: a positive CDN-Cache-Control max-age wins over a past Expires', async () => {
    await store('/cdn-max-age-expires', { 'cdn-cache-control': 'max-age=3600', expires: httpDate(-10000), date: httpDate(0) })
    await t.cached('/cdn-max-age-expires')
  })

  it('cdn-max-age-cc-max-age-invalid-expires: a positive CDN-Cache-Control max-age wins over an invalid Expires', async () => {
    await store('/cdn-max-age-cc-max-age-invalid-expires', { 'cdn-cache-control': 'max-age=3600', expires: '0', date: httpDate(0) })
    await t.cached('/cdn-max-age-cc-max-age-invalid-expires')
  })

  it('cdn-max-age-short-cc-max-age: a long CDN-Cache-Control max-age wins over a short Cache-Control max-age', async () => {
    await store('/cdn-max-age-short-cc-max-age', { 'cache-control': 'max-age=1', 'cdn-cache-control': 'max-age=3600' })
    await t.cached('/cdn-max-age-short-cc-max-age')
  })
})
