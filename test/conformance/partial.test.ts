/**
 * Conformance: partial content (cache-tests module `partial`; all cases are `optimal`).
 */
import { describe, expect, it } from 'vitest'
import { useConformance } from './suite.js'

const t = useConformance()

describe('partial: optimal', () => {
  for (const [id, body, range, expected] of [
    ['partial-store-complete-reuse-partial', '01234567890', 'bytes=0-1', '01'],
    ['partial-store-complete-reuse-partial-no-last', '01234567890', 'bytes=1-', '1234567890'],
    ['partial-store-complete-reuse-partial-suffix', '0123456789A', 'bytes=-1', 'A'],
  ] as const) {
    it(`${id}: a stored complete response answers Range: ${range}`, async () => {
      const path = `/${id}`
      t.origin.on(path, { headers: { 'cache-control': 'max-age=3600' }, body })
      await t.send(path)
      const got = await t.cached(path, { headers: { range } })
      expect(got).toMatchObject({ status: 206, body: expected })
    })
  }

  // FAILS: corral does not forward the client's Range to the origin (the origin sees no Range header: corral asks for the whole object).
  it.skip('partial-store-partial-reuse-partial: a stored 206 answers the same range again', async () => {
    const path = '/partial-store-partial-reuse-partial'
    t.origin.on(path, { status: 206, headers: { 'cache-control': 'max-age=3600', 'content-range': 'bytes 4-9/10' }, body: '01234' })
    await t.send(path, { headers: { range: 'bytes=-5' } })
    expect(t.lastSeen(path)?.headers.range).toBe('bytes=-5')
    const got = await t.cached(path, { headers: { range: 'bytes=-5' } })
    expect(got).toMatchObject({ status: 206, body: '01234' })
  })
})
