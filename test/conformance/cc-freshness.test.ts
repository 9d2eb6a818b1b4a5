/**
 * Conformance: freshness from Cache-Control (cache-tests modules `cc-freshness` and `cc-parse`).
 * Each case names the suite test id it restates.
 */
import { describe, it } from 'vitest'
import { httpDate, pause, useConformance, type Headers } from './suite.js'

const t = useConformance()

/** Store a response with these headers, let a few seconds pass, then ask again. */
async function storeThenPause(path: string, headers: Headers): Promise<void> {
  t.origin.on(path, { headers, body: path })
  await t.send(path)
  pause()
}

describe('cc-freshness: required', () => {
  it('freshness-max-age-stale: a max-age response is not reused once stale', async () => {
    await storeThenPause('/freshness-max-age-stale', { 'cache-control': 'max-age=2' })
    await t.notCached('/freshness-max-age-stale')
  })

  it('freshness-max-age-0: max-age=0 is not reused', async () => {
    await storeThenPause('/freshness-max-age-0', { 'cache-control': 'max-age=0' })
    await t.notCached('/freshness-max-age-0')
  })

  it('freshness-max-age-age: an Age above max-age makes the response stale', async () => {
    await storeThenPause('/freshness-max-age-age', { date: httpDate(0), 'cache-control': 'max-age=3600', age: '7200' })
    await t.notCached('/freshness-max-age-age')
  })

  it('freshness-max-age-0-expires: max-age=0 wins over a future Expires', async () => {
    await storeThenPause('/freshness-max-age-0-expires', {
      expires: httpDate(3600),
      'cache-control': 'max-age=0',
      date: httpDate(0),
    })
    await t.notCached('/freshness-max-age-0-expires')
  })

  it('freshness-max-age-negative: a negative max-age is not reused', async () => {
    await storeThenPause('/freshness-max-age-negative', { 'cache-control': 'max-age=-3600' })
    await t.notCached('/freshness-max-age-negative')
  })

  it('freshness-s-maxage-shared: a shared cache reuses a response with s-maxage', async () => {
    await storeThenPause('/freshness-s-maxage-shared', { 'cache-control': 's-maxage=3600' })
    await t.cached('/freshness-s-maxage-shared')
  })

  it('freshness-max-age-s-maxage-shared-longer: a short s-maxage wins over a longer max-age', async () => {
    await storeThenPause('/freshness-max-age-s-maxage-shared-longer', { 'cache-control': 'max-age=3600, s-maxage=1' })
    await t.notCached('/freshness-max-age-s-maxage-shared-longer')
  })

  it('freshness-max-age-s-maxage-shared-longer-reversed: the same, s-maxage first', async () => {
    await storeThenPause('/freshness-max-age-s-maxage-shared-longer-reversed', { 'cache-control': 's-maxage=1, max-age=3600' })
    await t.notCached('/freshness-max-age-s-maxage-shared-longer-reversed')
  })

  it('freshness-max-age-s-maxage-shared-longer-multiple: the same, on two Cache-Control lines', async () => {
    await storeThenPause('/freshness-max-age-s-maxage-shared-longer-multiple', {
      'cache-control': ['max-age=3600', 's-maxage=1'],
    })
    await t.notCached('/freshness-max-age-s-maxage-shared-longer-multiple')
  })
})

describe('cc-parse: required', () => {
  it('freshness-max-age-ignore-quoted: "max-age" inside a quoted extension value is ignored (before)', async () => {
    await storeThenPause('/freshness-max-age-ignore-quoted', { 'cache-control': 'extension="max-age=3600", max-age=1' })
    await t.notCached('/freshness-max-age-ignore-quoted')
  })

  it('freshness-max-age-ignore-quoted-rev: "max-age" inside a quoted extension value is ignored (after)', async () => {
    await storeThenPause('/freshness-max-age-ignore-quoted-rev', { 'cache-control': 'max-age=1, extension="max-age=3600"' })
    await t.notCached('/freshness-max-age-ignore-quoted-rev')
  })

  it('freshness-max-age-leading-zero: max-age=003600 is 3600 seconds', async () => {
    await storeThenPause('/freshness-max-age-leading-zero', { 'cache-control': 'max-age=003600' })
    await t.cached('/freshness-max-age-leading-zero')
  })

  it("freshness-max-age-single-quoted: max-age='3600' is not a valid value", async () => {
    await storeThenPause('/freshness-max-age-single-quoted', { 'cache-control': "max-age='3600'" })
    await t.notCached('/freshness-max-age-single-quoted')
  })
})

describe('cc-freshness: optimal', () => {
  it('freshness-max-age: a positive max-age is reused', async () => {
    await storeThenPause('/freshness-max-age', { 'cache-control': 'max-age=3600' })
    await t.cached('/freshness-max-age')
  })

  for (const [id, value] of [
    ['freshness-max-age-max-minus-1', '2147483647'],
    ['freshness-max-age-max', '2147483648'],
    ['freshness-max-age-max-plus-1', '2147483649'],
    ['freshness-max-age-max-plus', '99999999999'],
  ] as const) {
    it(`${id}: max-age=${value} is reused`, async () => {
      await storeThenPause(`/${id}`, { 'cache-control': `max-age=${value}` })
      await t.cached(`/${id}`)
    })
  }

  it('freshness-max-age-expires: a positive max-age wins over a past Expires', async () => {
    await storeThenPause('/freshness-max-age-expires', {
      'cache-control': 'max-age=3600',
      expires: httpDate(-7200),
      date: httpDate(0),
    })
    await t.cached('/freshness-max-age-expires')
  })

  it('freshness-max-age-expires-invalid: a positive max-age wins over an invalid Expires', async () => {
    await storeThenPause('/freshness-max-age-expires-invalid', { 'cache-control': 'max-age=3600', expires: '0', date: httpDate(0) })
    await t.cached('/freshness-max-age-expires-invalid')
  })

  it('freshness-max-age-extension: an unknown directive does not get in the way', async () => {
    await storeThenPause('/freshness-max-age-extension', { 'cache-control': 'foobar, max-age=3600' })
    await t.cached('/freshness-max-age-extension')
  })

  it('freshness-max-age-case-insenstive: directive names are case-insensitive', async () => {
    await storeThenPause('/freshness-max-age-case-insenstive', { 'cache-control': 'MaX-aGe=3600' })
    await t.cached('/freshness-max-age-case-insenstive')
  })

  it('freshness-max-age-s-maxage-shared-shorter: a long s-maxage wins over a short max-age', async () => {
    await storeThenPause('/freshness-max-age-s-maxage-shared-shorter', { 'cache-control': 'max-age=1, s-maxage=3600' })
    await t.cached('/freshness-max-age-s-maxage-shared-shorter')
  })

  it('freshness-max-age-s-maxage-shared-shorter-expires: a long s-maxage wins over max-age=0 and a past Expires', async () => {
    await storeThenPause('/freshness-max-age-s-maxage-shared-shorter-expires', {
      expires: httpDate(-10),
      'cache-control': 'max-age=0, s-maxage=3600',
    })
    await t.cached('/freshness-max-age-s-maxage-shared-shorter-expires')
  })
})
