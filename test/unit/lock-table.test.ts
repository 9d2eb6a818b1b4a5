import { describe, expect, it } from 'vitest'
import { LockTable } from '../../src/workers/lock-table.js'

const claim = (lockId: string, token: string, wait = true) => ({ lockId, keyId: 'k', token, wait })
const release = (lockId: string, token: string, hitForMissMs = 0) => ({ lockId, keyId: 'k', token, hitForMissMs, reason: hitForMissMs > 0 ? 'PRIVATE' : '' })

describe('LockTable (the primary keeps the workers’ fill locks)', () => {
  it('one leader per flight; the others wait, or hear "busy" when they would not wait', () => {
    const t = new LockTable()
    expect(t.claim(1, claim('a', 't1'), 0).role).toBe('leader')
    expect(t.claim(2, claim('a', 't2'), 0).role).toBe('wait')
    expect(t.claim(3, claim('a', 't3', false), 0).role).toBe('busy')
    expect(t.claim(3, claim('b', 't3'), 0).role).toBe('leader')
  })

  it('only the holder releases, and its waiters are told', () => {
    const t = new LockTable()
    t.claim(1, claim('a', 't1'), 0)
    t.claim(2, claim('a', 't2'), 0)
    t.claim(3, claim('a', 't3'), 0)
    expect(t.release(2, release('a', 't2'), 0)).toBeUndefined()
    expect(t.release(1, release('a', 'wrong'), 0)).toBeUndefined()
    expect(t.release(1, release('a', 't1'), 0)).toEqual([2, 3])
    expect(t.claim(2, claim('a', 't4'), 0).role).toBe('leader')
  })

  it('a waiter that gave up is not told', () => {
    const t = new LockTable()
    t.claim(1, claim('a', 't1'), 0)
    t.claim(2, claim('a', 't2'), 0)
    t.unwait(2, 'a')
    expect(t.release(1, release('a', 't1'), 0)).toEqual([])
  })

  it('hit-for-miss: marked on release, answered to claims until it expires or a record is stored', () => {
    const t = new LockTable()
    t.claim(1, claim('a', 't1'), 0)
    t.release(1, release('a', 't1', 1_000), 0)
    expect(t.claim(2, claim('a', 't2'), 500)).toEqual({ role: 'hit-for-miss', reason: 'PRIVATE' })
    expect(t.claim(2, claim('a', 't2'), 1_000).role).toBe('leader')
    t.release(2, release('a', 't2', 1_000), 1_000)
    t.stored('k')
    expect(t.claim(3, claim('a', 't3'), 1_100).role).toBe('leader')
  })

  it('a worker that exits loses its flights (their waiters are returned) and waits on none', () => {
    const t = new LockTable()
    t.claim(1, claim('a', 't1'), 0)
    t.claim(2, claim('a', 't2'), 0)
    t.claim(2, claim('b', 't3'), 0)
    t.claim(1, claim('b', 't4'), 0)
    expect(t.gone(1)).toEqual([{ lockId: 'a', waiters: [2] }])
    expect(t.release(2, release('b', 't3'), 0)).toEqual([])
    expect(t.size).toBe(0)
  })
})
