/** Fill.whole(): the whole body for a reader that cannot answer before it has all of it (a Range). */
import { describe, expect, it } from 'vitest'
import { Fill } from '../../src/coalesce/fill.js'
import type { CacheEntry } from '../../src/store/types.js'

// whole() never reads the head: an empty entry is enough here.
const HEAD = {} as CacheEntry

describe('Fill.whole()', () => {
  it('resolves with every chunk once the body has ended, and at once when it already has', async () => {
    const fill = new Fill(HEAD, undefined, 100)
    fill.push(Buffer.from('abc'))
    const whole = fill.whole()
    fill.push(Buffer.from('def'))
    fill.end()
    expect((await whole)?.toString()).toBe('abcdef')
    expect((await fill.whole())?.toString()).toBe('abcdef')
  })

  it('resolves undefined when the body breaks', async () => {
    const fill = new Fill(HEAD, undefined, 100)
    fill.push(Buffer.from('abc'))
    const whole = fill.whole()
    fill.fail()
    expect(await whole).toBeUndefined()
    expect(await fill.whole()).toBeUndefined()
  })

  it('resolves undefined when the body grows past the limit, and stops counting as a reader', async () => {
    const fill = new Fill(HEAD, undefined, 4)
    fill.push(Buffer.from('abc'))
    const whole = fill.whole()
    expect(fill.readerCount).toBe(1)
    fill.push(Buffer.from('def'))
    expect(await whole).toBeUndefined()
    // The leader reads a body past the limit only for readers still there.
    expect(fill.readerCount).toBe(0)
    expect(await fill.whole()).toBeUndefined()
  })
})
