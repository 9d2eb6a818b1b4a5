/** A crowd of requests for one key costs the origin one fetch; unshareable answers are never shared. */
import { describe, expect, it, vi } from 'vitest'
import { type Got, client, later, startTestGateway, testConfig, useGateway } from '../helpers/gateway.js'

const t = useGateway((originUrl) => ({
  upstreams: { default: { url: originUrl, connections: 256 } },
  coalesce: { waitTimeout: '2s', hitForMiss: '30s' },
  routes: [
    { name: 'strip', match: { path: '/strip/' }, cache: { setCookie: 'strip' } },
    { name: 'default', cache: true },
  ],
}))

/** Polls until the condition holds: the crowd is in place (the test's own timeout bounds it). */
async function queued(until: () => boolean): Promise<void> {
  while (!until()) await new Promise((r) => setTimeout(r, 5))
}

const crowd = (n: number, path: string, headers?: Record<string, string>): Promise<Got[]> =>
  Promise.all(Array.from({ length: n }, () => t.get(path, { headers })))

describe('request coalescing', () => {
  it('100 concurrent requests for a cold key: exactly 1 origin fetch, 100 full responses', async () => {
    const body = 'x'.repeat(10_000)
    t.origin.on('/cold', { headers: { 'cache-control': 'max-age=60' }, body })
    const open = t.origin.closeGate()
    const responses = crowd(100, '/cold')
    await queued(() => t.origin.held === 1 && totalFollowers() === 99)
    open()
    const all = await responses
    expect(t.origin.hitsOn('/cold')).toBe(1)
    expect(all.every((r) => r.status === 200 && r.body === body)).toBe(true)
    expect(all.filter((r) => r.cacheStatus === 'MISS')).toHaveLength(100)
    expect(all.filter((r) => r.cacheStatusHeader?.includes('collapsed'))).toHaveLength(99)
  })

  it('an expired key refetched by a crowd: 1 origin fetch', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/hot', (_r, n) => ({ headers: { 'cache-control': 'max-age=1' }, body: `v${n}` }))
    await t.get('/hot')
    vi.setSystemTime(Date.now() + 2_000)
    const open = t.origin.closeGate()
    const responses = crowd(50, '/hot')
    await queued(() => t.origin.held === 1 && totalFollowers() === 49)
    open()
    const all = await responses
    expect(t.origin.hitsOn('/hot')).toBe(2)
    expect(all.every((r) => r.body === 'v2' && r.cacheStatus === 'EXPIRED')).toBe(true)
  })

  it('a private answer is never handed to the waiters: each fetches its own, later requests do not queue', async () => {
    t.origin.on('/me', (r) => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `user=${String(r.headers['x-user'])}` }))
    const open = t.origin.closeGate()
    const users = Array.from({ length: 20 }, (_, i) => t.get('/me', { headers: { 'x-user': String(i) } }))
    await queued(() => t.origin.held === 1 && totalFollowers() === 19)
    open()
    const all = await Promise.all(users)
    all.forEach((r, i) => expect(r.body).toBe(`user=${i}`))
    expect(t.origin.hitsOn('/me')).toBe(20)

    // hit-for-miss: the key is known to be unshareable, so a new crowd goes straight to the origin
    const gate = t.origin.closeGate()
    const again = Array.from({ length: 5 }, (_, i) => t.get('/me', { headers: { 'x-user': `b${i}` } }))
    await queued(() => t.origin.held === 5)
    expect(totalFollowers()).toBe(0)
    gate()
    expect((await Promise.all(again)).map((r) => r.body)).toEqual(['user=b0', 'user=b1', 'user=b2', 'user=b3', 'user=b4'])
  })

  it('an answer that sets a cookie is never shared either', async () => {
    t.origin.on('/login', (r) => ({ headers: { 'cache-control': 'max-age=60', 'set-cookie': `sid=${String(r.headers['x-user'])}` }, body: 'hi' }))
    const open = t.origin.closeGate()
    const users = Array.from({ length: 10 }, (_, i) => t.get('/login', { headers: { 'x-user': String(i) } }))
    await queued(() => t.origin.held === 1 && totalFollowers() === 9)
    open()
    const all = await Promise.all(users)
    all.forEach((r, i) => expect(r.headers['set-cookie']).toBe(`sid=${i}`))
  })

  it('a request that says no-store does not make the key skip coalescing for others', async () => {
    t.origin.on('/nsr', { headers: { 'cache-control': 'max-age=60' }, body: 'n' })
    await t.get('/nsr', { headers: { 'cache-control': 'no-store' } })
    const open = t.origin.closeGate()
    const responses = crowd(5, '/nsr')
    await queued(() => t.origin.held === 1 && totalFollowers() === 4)
    open()
    expect((await responses).every((r) => r.body === 'n')).toBe(true)
    expect(t.origin.hitsOn('/nsr')).toBe(2)
  })

  it('an origin failure is shared: waiters get the error, not a stampede', async () => {
    t.origin.on('/fail', { hangUp: true })
    const open = t.origin.closeGate()
    const responses = crowd(30, '/fail')
    await queued(() => t.origin.held === 1 && totalFollowers() === 29)
    open()
    const all = await responses
    expect(all.every((r) => r.status === 502)).toBe(true)
    expect(t.origin.hitsOn('/fail')).toBe(1)
  })

  it('a crowd on a stale key whose origin drops the connection: one origin request, every waiter gets the stale copy (RFC 9111 §4.2.4)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/gone', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1' }, body: 'kept' } : { hangUp: true }))
    await t.get('/gone')
    later(2_000)
    const open = t.origin.closeGate()
    const responses = crowd(30, '/gone')
    await queued(() => t.origin.held === 1 && totalFollowers() === 29)
    open()
    const all = await responses
    expect(all.map((r) => `${r.status} ${r.cacheStatus} ${r.body}`)).toEqual(Array.from({ length: 30 }, () => '200 STALE kept'))
    const waiters = all.filter((r) => r.cacheStatusHeader?.includes('collapsed'))
    expect(waiters).toHaveLength(29)
    for (const w of waiters) expect(w.cacheStatusHeader).toMatch(/^corral; fwd=stale; ttl=-\d+; collapsed; detail=stale-if-disconnected$/)
    expect(t.origin.hitsOn('/gone')).toBe(2)
  })

  it('a crowd asking for three variants of a cold key: one origin fetch per variant', async () => {
    t.origin.on('/variants', (r) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'accept-encoding' },
      body: `for ${String(r.headers['accept-encoding'])}`,
    }))
    const open = t.origin.closeGate()
    const encodings = ['gzip', 'br', 'zstd']
    const responses = Promise.all(Array.from({ length: 60 }, (_, i) => t.get('/variants', { headers: { 'accept-encoding': encodings[i % 3]! } })))
    await queued(() => t.origin.held === 1 && totalFollowers() === 59)
    open()
    const all = await responses
    all.forEach((r, i) => expect(r.body).toBe(`for ${encodings[i % 3]!}`))
    expect(t.origin.hitsOn('/variants')).toBe(3)
  })

  it('an origin 5xx is shared too: one origin request, every waiter gets the same 503', async () => {
    t.origin.on('/overloaded', { status: 503, headers: { 'retry-after': '5' }, body: 'busy' })
    const open = t.origin.closeGate()
    const responses = crowd(30, '/overloaded')
    await queued(() => t.origin.held === 1 && totalFollowers() === 29)
    open()
    const all = await responses
    expect(all.map((r) => `${r.status} ${r.body} ${String(r.headers['retry-after'])}`)).toEqual(Array.from({ length: 30 }, () => '503 busy 5'))
    expect(all.filter((r) => r.cacheStatusHeader?.includes('collapsed'))).toHaveLength(29)
    expect(t.origin.hitsOn('/overloaded')).toBe(1)
    // not stored: the next request asks again
    await t.get('/overloaded')
    expect(t.origin.hitsOn('/overloaded')).toBe(2)
  })

  it('an origin 5xx with explicit freshness is stored: the crowd gets the entry, and so do later requests', async () => {
    t.origin.on('/overloaded-fresh', { status: 503, headers: { 'cache-control': 'max-age=60', 'retry-after': '5' }, body: 'busy' })
    const open = t.origin.closeGate()
    const responses = crowd(30, '/overloaded-fresh')
    await queued(() => t.origin.held === 1 && totalFollowers() === 29)
    open()
    const all = await responses
    expect(all.map((r) => `${r.status} ${r.body} ${String(r.headers['retry-after'])}`)).toEqual(Array.from({ length: 30 }, () => '503 busy 5'))
    expect(all.filter((r) => r.cacheStatusHeader?.includes('collapsed'))).toHaveLength(29)
    expect(await t.get('/overloaded-fresh')).toMatchObject({ status: 503, cacheStatus: 'HIT', body: 'busy' })
    expect(t.origin.hitsOn('/overloaded-fresh')).toBe(1)
  })

  it.each([
    ['a 5xx that sets a cookie', 'cookie', { status: 500, headers: { 'set-cookie': 'sid=1' }, body: 'oops' }],
    ['a private 5xx', 'private', { status: 500, headers: { 'cache-control': 'private' }, body: 'oops' }],
    ['a 5xx too large to share', 'large', { status: 500, body: 'x'.repeat(70_000) }],
    ['a 5xx with a field for its requester alone (no-cache="x-secret")', 'qualified', { status: 500, headers: { 'cache-control': 'no-cache="x-secret"', 'x-secret': 's' }, body: 'oops' }],
    ['a 5xx that sets a cookie, on a route that strips cookies', 'strip', { status: 500, headers: { 'set-cookie': 'sid=1' }, body: 'oops' }],
  ])('%s is not shared: each waiter asks the origin itself', async (_what, name, reply) => {
    const path = name === 'strip' ? '/strip/5xx' : `/unshared-5xx/${name}`
    t.origin.on(path, reply)
    const open = t.origin.closeGate()
    const responses = crowd(5, path)
    await queued(() => t.origin.held === 1 && totalFollowers() === 4)
    open()
    expect((await responses).every((r) => r.status === 500)).toBe(true)
    expect(t.origin.hitsOn(path)).toBe(5)
  })

  it('waiting is bounded: past the wait timeout a waiter fetches on its own', async () => {
    const short = await startTestGateway(testConfig(t.origin.url, { coalesce: { waitTimeout: '100ms' } }))
    try {
      let first = true
      t.origin.on('/slow', () => {
        if (first) {
          first = false
          return { delayMs: 800, headers: { 'cache-control': 'max-age=60' }, body: 'slow' }
        }
        return { headers: { 'cache-control': 'max-age=60' }, body: 'quick' }
      })
      const g = client(short.urls[0]!)
      const leader = g('/slow')
      await queued(() => t.origin.hitsOn('/slow') === 1)
      const follower = await g('/slow')
      expect(follower.body).toBe('quick')
      expect((await leader).body).toBe('slow')
    } finally {
      await short.close()
    }
  })
})

describe('when the wait runs out (coalesce.onTimeout)', () => {
  const slowThenQuick = (path: string): void => {
    t.origin.on(path, (_r, n) => (n === 2 ? { delayMs: 800, headers: { 'cache-control': 'max-age=1' }, body: 'slow' } : { headers: { 'cache-control': 'max-age=1' }, body: `v${n}` }))
  }

  it('error: a stale copy if one may be served, else 503 CORRAL_ERR_LOCK_TIMEOUT', async () => {
    const g = await startTestGateway(testConfig(t.origin.url, { coalesce: { waitTimeout: '100ms', onTimeout: 'error' } }))
    try {
      const get = client(g.urls[0]!)
      t.origin.on('/cold-wait', { delayMs: 800, headers: { 'cache-control': 'max-age=60' }, body: 'slow' })
      const leader = get('/cold-wait')
      await queued(() => t.origin.hitsOn('/cold-wait') === 1)
      const follower = await get('/cold-wait')
      expect(follower.status).toBe(503)
      expect(follower.body).toContain('CORRAL_ERR_LOCK_TIMEOUT')
      expect(t.origin.hitsOn('/cold-wait')).toBe(1)
      expect((await leader).body).toBe('slow')
    } finally {
      await g.close()
    }
  })

  it('stale (the default): the stale copy, said to be served because the wait ran out', async () => {
    const g = await startTestGateway(testConfig(t.origin.url, { coalesce: { waitTimeout: '100ms' } }))
    try {
      vi.useFakeTimers({ toFake: ['Date'] })
      const get = client(g.urls[0]!)
      slowThenQuick('/stale-wait')
      await get('/stale-wait')
      vi.setSystemTime(Date.now() + 2_000)
      const leader = get('/stale-wait')
      await queued(() => t.origin.hitsOn('/stale-wait') === 2)
      const follower = await get('/stale-wait')
      expect(follower).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'v1' })
      expect(follower.cacheStatusHeader).toContain('detail=lock-timeout')
      expect(t.origin.hitsOn('/stale-wait')).toBe(2)
      expect((await leader).body).toBe('slow')
    } finally {
      await g.close()
    }
  })

  it('fetch: the waiter fetches on its own even when a stale copy is there', async () => {
    const g = await startTestGateway(testConfig(t.origin.url, { coalesce: { waitTimeout: '100ms', onTimeout: 'fetch' } }))
    try {
      vi.useFakeTimers({ toFake: ['Date'] })
      const get = client(g.urls[0]!)
      slowThenQuick('/fetch-wait')
      await get('/fetch-wait')
      vi.setSystemTime(Date.now() + 2_000)
      const leader = get('/fetch-wait')
      await queued(() => t.origin.hitsOn('/fetch-wait') === 2)
      expect(await get('/fetch-wait')).toMatchObject({ status: 200, cacheStatus: 'EXPIRED', body: 'v3' })
      expect((await leader).body).toBe('slow')
    } finally {
      await g.close()
    }
  })
})

function totalFollowers(): number {
  return t.gateway.runtime.coalescer.stats().waiting
}
