import { describe, expect, it } from 'vitest'
import { HitForMiss } from '../../src/coalesce/hit-for-miss.js'
import { SingleFlight } from '../../src/coalesce/single-flight.js'

describe('SingleFlight', () => {
  it('makes the first caller the leader and the others followers of its outcome', async () => {
    const flights = new SingleFlight<string>()
    const leader = flights.join('k')
    const a = flights.join('k')
    const b = flights.join('k')
    expect([leader.role, a.role, b.role]).toEqual(['leader', 'follower', 'follower'])
    expect(flights.waiting).toBe(2)
    if (leader.role !== 'leader' || a.role !== 'follower' || b.role !== 'follower') throw new Error('roles')
    const waits = [a.wait(1_000), b.wait(1_000)]
    leader.settle('done')
    expect(await Promise.all(waits)).toEqual(['done', 'done'])
    expect(flights.size).toBe(0)
    expect(flights.join('k').role).toBe('leader')
  })

  it('an announcement reaches the followers that asked for it; the flight stays open until settled', async () => {
    const flights = new SingleFlight<string>()
    const leader = flights.join('k')
    const early = flights.join('k')
    const final = flights.join('k')
    if (leader.role !== 'leader' || early.role !== 'follower' || final.role !== 'follower') throw new Error('roles')
    const heard = early.wait(1_000, true)
    const settled = final.wait(1_000)
    leader.announce('streaming')
    expect(await heard).toBe('streaming')
    // Late arrivals still follow, and hear the announcement at once.
    const late = flights.join('k')
    if (late.role !== 'follower') throw new Error('role')
    expect(await late.wait(1_000, true)).toBe('streaming')
    leader.settle('stored')
    expect(await settled).toBe('stored')
    expect(flights.isRunning('k')).toBe(false)
  })

  it('bounds the wait', async () => {
    const flights = new SingleFlight<string>()
    flights.join('k')
    const follower = flights.join('k')
    if (follower.role !== 'follower') throw new Error('role')
    expect(await follower.wait(10)).toBe('timeout')
  })

  it('keys are independent, and settling twice is harmless', () => {
    const flights = new SingleFlight<string>()
    const a = flights.join('a')
    expect(flights.join('b').role).toBe('leader')
    if (a.role !== 'leader') throw new Error('role')
    a.settle('x')
    a.settle('y')
    expect(flights.isRunning('a')).toBe(false)
    expect(flights.isRunning('b')).toBe(true)
  })
})

describe('HitForMiss', () => {
  it('remembers a key for its ttl, and forgets it when cleared', () => {
    const hfm = new HitForMiss(1_000)
    hfm.mark('k', 0)
    expect(hfm.has('k', 999)).toBe(true)
    expect(hfm.has('k', 1_000)).toBe(false)
    hfm.mark('k', 0)
    hfm.clear('k')
    expect(hfm.has('k', 1)).toBe(false)
  })

  it('remembers why, while the mark lasts', () => {
    const hfm = new HitForMiss(1_000)
    hfm.mark('big', 0, 'TOO_LARGE')
    expect(hfm.why('big', 500)).toBe('TOO_LARGE')
    expect(hfm.why('big', 1_000)).toBeUndefined()
    expect(hfm.why('never', 0)).toBeUndefined()
  })

  it('stays bounded', () => {
    const hfm = new HitForMiss(1_000, 3)
    for (const k of ['a', 'b', 'c', 'd']) hfm.mark(k, 0)
    expect(hfm.has('d', 1)).toBe(true)
    expect(['a', 'b', 'c'].filter((k) => hfm.has(k, 1)).length).toBeLessThan(3)
  })

  it('a zero ttl turns it off', () => {
    const hfm = new HitForMiss(0)
    hfm.mark('k', 0)
    expect(hfm.has('k', 0)).toBe(false)
  })
})
