/** A crowd of requests for one key costs the origin one fetch; unshareable answers are never shared. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Gateway } from '../../src/gateway.js'
import { Origin } from '../helpers/origin.js'
import { client, startTestGateway, testConfig, type Got } from '../helpers/gateway.js'

let origin: Origin
let gateway: Gateway
let get: (path: string, init?: { method?: string; headers?: Record<string, string> }) => Promise<Got>

beforeAll(async () => {
  origin = await Origin.start()
  gateway = await startTestGateway(
    testConfig(origin.url, {
      upstreams: { default: { url: origin.url, connections: 256 } },
      coalesce: { waitTimeout: '2s', hitForMiss: '30s' },
    }),
  )
  get = client(gateway.urls[0]!)
})
afterAll(async () => {
  await gateway.close()
  await origin.close()
})
afterEach(() => {
  vi.useRealTimers()
  origin.reset()
})

/** Polls until the condition holds: the crowd is in place (the test's own timeout bounds it). */
async function queued(until: () => boolean): Promise<void> {
  while (!until()) await new Promise((r) => setTimeout(r, 5))
}

const crowd = (n: number, path: string, headers?: Record<string, string>): Promise<Got[]> =>
  Promise.all(Array.from({ length: n }, () => get(path, { headers })))

describe('request coalescing', () => {
  it('100 concurrent requests for a cold key: exactly 1 origin fetch, 100 full responses', async () => {
    const body = 'x'.repeat(10_000)
    origin.on('/cold', { headers: { 'cache-control': 'max-age=60' }, body })
    const open = origin.closeGate()
    const responses = crowd(100, '/cold')
    await queued(() => origin.held === 1 && totalFollowers() === 99)
    open()
    const all = await responses
    expect(origin.hitsOn('/cold')).toBe(1)
    expect(all.every((r) => r.status === 200 && r.body === body)).toBe(true)
    expect(all.filter((r) => r.cacheStatus === 'MISS')).toHaveLength(100)
    expect(all.filter((r) => r.cacheStatusHeader?.includes('collapsed'))).toHaveLength(99)
  })

  it('an expired key refetched by a crowd: 1 origin fetch', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    origin.on('/hot', (_r, n) => ({ headers: { 'cache-control': 'max-age=1' }, body: `v${n}` }))
    await get('/hot')
    vi.setSystemTime(Date.now() + 2_000)
    const open = origin.closeGate()
    const responses = crowd(50, '/hot')
    await queued(() => origin.held === 1 && totalFollowers() === 49)
    open()
    const all = await responses
    expect(origin.hitsOn('/hot')).toBe(2)
    expect(all.every((r) => r.body === 'v2' && r.cacheStatus === 'EXPIRED')).toBe(true)
  })

  it('a private answer is never handed to the waiters: each fetches its own, later requests do not queue', async () => {
    origin.on('/me', (r) => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `user=${String(r.headers['x-user'])}` }))
    const open = origin.closeGate()
    const users = Array.from({ length: 20 }, (_, i) => get('/me', { headers: { 'x-user': String(i) } }))
    await queued(() => origin.held === 1 && totalFollowers() === 19)
    open()
    const all = await Promise.all(users)
    all.forEach((r, i) => expect(r.body).toBe(`user=${i}`))
    expect(origin.hitsOn('/me')).toBe(20)

    // hit-for-miss: the key is known to be unshareable, so a new crowd goes straight to the origin
    const gate = origin.closeGate()
    const again = Array.from({ length: 5 }, (_, i) => get('/me', { headers: { 'x-user': `b${i}` } }))
    await queued(() => origin.held === 5)
    expect(totalFollowers()).toBe(0)
    gate()
    expect((await Promise.all(again)).map((r) => r.body)).toEqual(['user=b0', 'user=b1', 'user=b2', 'user=b3', 'user=b4'])
  })

  it('an answer that sets a cookie is never shared either', async () => {
    origin.on('/login', (r) => ({ headers: { 'cache-control': 'max-age=60', 'set-cookie': `sid=${String(r.headers['x-user'])}` }, body: 'hi' }))
    const open = origin.closeGate()
    const users = Array.from({ length: 10 }, (_, i) => get('/login', { headers: { 'x-user': String(i) } }))
    await queued(() => origin.held === 1 && totalFollowers() === 9)
    open()
    const all = await Promise.all(users)
    all.forEach((r, i) => expect(r.headers['set-cookie']).toBe(`sid=${i}`))
  })

  it('a request that says no-store does not make the key skip coalescing for others', async () => {
    origin.on('/nsr', { headers: { 'cache-control': 'max-age=60' }, body: 'n' })
    await get('/nsr', { headers: { 'cache-control': 'no-store' } })
    const open = origin.closeGate()
    const responses = crowd(5, '/nsr')
    await queued(() => origin.held === 1 && totalFollowers() === 4)
    open()
    expect((await responses).every((r) => r.body === 'n')).toBe(true)
    expect(origin.hitsOn('/nsr')).toBe(2)
  })

  it('an origin failure is shared: waiters get the error, not a stampede', async () => {
    origin.on('/fail', { hangUp: true })
    const open = origin.closeGate()
    const responses = crowd(30, '/fail')
    await queued(() => origin.held === 1 && totalFollowers() === 29)
    open()
    const all = await responses
    expect(all.every((r) => r.status === 502)).toBe(true)
    expect(origin.hitsOn('/fail')).toBe(1)
  })

  it('waiting is bounded: past the wait timeout a waiter fetches on its own', async () => {
    const short = await startTestGateway(testConfig(origin.url, { coalesce: { waitTimeout: '100ms' } }))
    try {
      let first = true
      origin.on('/slow', () => {
        if (first) {
          first = false
          return { delayMs: 800, headers: { 'cache-control': 'max-age=60' }, body: 'slow' }
        }
        return { headers: { 'cache-control': 'max-age=60' }, body: 'quick' }
      })
      const g = client(short.urls[0]!)
      const leader = g('/slow')
      await queued(() => origin.hitsOn('/slow') === 1)
      const follower = await g('/slow')
      expect(follower.body).toBe('quick')
      expect((await leader).body).toBe('slow')
    } finally {
      await short.close()
    }
  })
})

function totalFollowers(): number {
  return gateway.runtime.flights.waiting
}
