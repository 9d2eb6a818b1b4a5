/**
 * Conformance: invalidation after unsafe methods (cache-tests module `invalidation`). The
 * Location / Content-Location cases are `check`s in the suite and are left out.
 */
import { describe, it } from 'vitest'
import { freshHeaders, useConformance } from './suite.js'

const t = useConformance()

const METHODS = ['POST', 'PUT', 'DELETE', 'M-SEARCH'] as const

function serve(path: string, unsafeStatus: number): void {
  t.origin.on(path, (r, n) =>
    r.method === 'GET' ? { headers: freshHeaders(), body: `get #${n}` } : { status: unsafeStatus, body: `${r.method} done` },
  )
}

describe('invalidation: required', () => {
  for (const method of METHODS) {
    it(`invalidate-${method}: a successful ${method} invalidates the stored response for its URL`, async () => {
      const path = `/invalidate-${method}`
      serve(path, 200)
      await t.send(path)
      await t.notCached(path, { method, body: 'abc' })
      await t.notCached(path)
    })
  }
})

describe('invalidation: optimal', () => {
  for (const method of METHODS) {
    it(`invalidate-${method}-failed: a failed (500) ${method} leaves the stored response alone`, async () => {
      const path = `/invalidate-${method}-failed`
      serve(path, 500)
      await t.send(path)
      await t.notCached(path, { method, body: 'abc' })
      await t.cached(path)
    })
  }
})
