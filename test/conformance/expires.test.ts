/**
 * Conformance: freshness from Expires and how Expires is parsed (cache-tests modules
 * `expires-freshness` and `expires-parse`).
 */
import { describe, it } from 'vitest'
import { httpDate, pause, useConformance, type Headers } from './suite.js'

const t = useConformance()

async function store(path: string, headers: Headers, thenPause = true): Promise<void> {
  t.origin.on(path, { headers, body: path })
  await t.send(path)
  if (thenPause) pause()
}

describe('expires-freshness: required', () => {
  it('freshness-expires-past: a past Expires is not reused', async () => {
    await store('/freshness-expires-past', { expires: httpDate(-30 * 86_400), date: httpDate(0) })
    await t.notCached('/freshness-expires-past')
  })

  it('freshness-expires-present: Expires equal to Date is not reused', async () => {
    await store('/freshness-expires-present', { expires: httpDate(0), date: httpDate(0) }, false)
    await t.notCached('/freshness-expires-present')
  })

  it('freshness-expires-old-date: Expires before Date is not reused, even when both are ahead of the clock', async () => {
    await store('/freshness-expires-old-date', { expires: httpDate(300), date: httpDate(400) })
    await t.notCached('/freshness-expires-old-date')
  })

  it('freshness-expires-invalid: Expires: 0 is not reused', async () => {
    await store('/freshness-expires-invalid', { expires: '0', date: httpDate(0) })
    await t.notCached('/freshness-expires-invalid')
  })

  it('freshness-expires-age-slow-date: an Age larger than Expires - Date (Date behind) is stale', async () => {
    await store('/freshness-expires-age-slow-date', { date: httpDate(-10), expires: httpDate(10), age: '25' }, false)
    await t.notCached('/freshness-expires-age-slow-date')
  })

  it('freshness-expires-age-fast-date: an Age larger than Expires - Date (Date ahead) is stale', async () => {
    await store('/freshness-expires-age-fast-date', { date: httpDate(10), expires: httpDate(20), age: '15' }, false)
    await t.notCached('/freshness-expires-age-fast-date')
  })
})

describe('expires-parse: required', () => {
  // Invalid dates mean "already expired" (RFC 9111 §5.3).
  for (const [id, value, thenPause] of [
    ['freshness-expires-invalid-utc', 'Thu, 18 Aug 2050 02:01:18 UTC', true],
    ['freshness-expires-invalid-aest', 'Thu, 18 Aug 2050 02:01:18 AEST', true],
    ['freshness-expires-invalid-2-digit-year', 'Thu, 18 Aug 50 02:01:18 GMT', true],
    ['freshness-expires-invalid-no-comma', 'Thu 18 Aug 2050 02:01:18 GMT', true],
    ['freshness-expires-invalid-multiple-spaces', 'Thu, 18  Aug  2050 02:01:18 GMT', false],
    ['freshness-expires-invalid-date-dashes', 'Thu, 18-Aug-2050 02:01:18 GMT', false],
    ['freshness-expires-invalid-time-periods', 'Thu, 18 Aug 2050 02.01.18 GMT', false],
    ['freshness-expires-invalid-1-digit-hour', 'Thu, 18 Aug 2050 2:01:18 GMT', false],
  ] as const) {
    it(`${id}: Expires "${value}" is invalid, so the response is stale`, async () => {
      await store(`/${id}`, { expires: value, date: httpDate(0) }, thenPause)
      await t.notCached(`/${id}`)
    })
  }

  it('freshness-expires-invalid-multiple-lines: two Expires lines make the field invalid', async () => {
    await store(
      '/freshness-expires-invalid-multiple-lines',
      { expires: ['Thu, 18 Aug 2050 2:01:18 GMT', 'Thu, 18 Aug 2050 2:01:19 GMT'], date: httpDate(0) },
      false,
    )
    await t.notCached('/freshness-expires-invalid-multiple-lines')
  })
})

describe('expires: optimal', () => {
  it('freshness-expires-future: a future Expires is reused', async () => {
    await store('/freshness-expires-future', { expires: httpDate(30 * 86_400), date: httpDate(0) })
    await t.cached('/freshness-expires-future')
  })

  it('freshness-expires-invalid-date: a future Expires is reused even when Date is invalid', async () => {
    await store('/freshness-expires-invalid-date', { date: 'foo', expires: httpDate(10) }, false)
    await t.cached('/freshness-expires-invalid-date')
  })

  for (const [id, value] of [
    ['freshness-expires-32bit', 'Tue, 19 Jan 2038 14:14:08 GMT'],
    ['freshness-expires-far-future', 'Sun, 21 Nov 2286 04:46:39 GMT'],
    ['freshness-expires-rfc850', 'Thursday, 18-Aug-50 02:01:18 GMT'],
    ['freshness-expires-ansi-c', 'Thu Aug  8 02:01:18 2050'],
    ['freshness-expires-wrong-case-weekday', 'THU, 18 Aug 2050 02:01:18 GMT'],
    ['freshness-expires-wrong-case-month', 'Thu, 18 AUG 2050 02:01:18 GMT'],
    ['freshness-expires-wrong-case-tz', 'Thu, 18 Aug 2050 02:01:18 gMT'],
  ] as const) {
    it(`${id}: Expires "${value}" is in the future, so the response is reused`, async () => {
      await store(`/${id}`, { expires: value, date: httpDate(0) })
      await t.cached(`/${id}`)
    })
  }
})
