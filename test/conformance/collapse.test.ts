/**
 * Conformance: collapsed requests (cache-tests module `collapse`). The suite gives its one case
 * no kind, which makes it `required` by the suite's default, although RFC 9111 §4 leaves
 * collapsing to the cache: corral always collapses a miss (see test/integration/coalescing).
 */
import { describe, expect, it } from 'vitest'
import { freshHeaders, useConformance } from './suite.js'

const t = useConformance()

describe('collapse: required', () => {
  it('collapse-basic: a request arriving while the first one waits on the origin shares its response', async () => {
    const path = '/collapse-basic'
    t.origin.on(path, { headers: freshHeaders(), body: path })
    const open = t.origin.closeGate()
    const first = t.send(path)
    while (t.origin.held < 1) await new Promise((r) => setTimeout(r, 5))
    const second = t.send(path)
    while (t.gateway.runtime.coalescer.stats().waiting < 1) await new Promise((r) => setTimeout(r, 5))
    open()
    const [a, b] = await Promise.all([first, second])
    expect(t.origin.hitsOn(path)).toBe(1)
    expect([a.body, b.body]).toEqual([path, path])
    expect(b.cacheStatusHeader).toContain('collapsed')
  })
})
