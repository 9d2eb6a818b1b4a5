/**
 * Fleet mode: three gateways sharing one Redis behave as one cache — one shared store, one origin
 * fetch per key for the whole fleet, L1 copies that follow what the others store.
 */
import { expect, it, vi } from 'vitest'
import { explain } from '../../src/admin/explain.js'
import { purgeOrder } from '../../src/admin/purge.js'
import { lookupOrLock } from '../../src/redis/scripts.js'
import { MAX_TRACKED_VARIANTS } from '../../src/stages/store.js'
import type { Got } from '../helpers/gateway.js'
import { FLEET_HOST, until, useFleet } from '../helpers/fleet-gateways.js'
import { describeRedis } from '../helpers/redis.js'

const fleet = useFleet(3, () => ({
  upstreams: { default: { url: fleetOriginUrl(), connections: 256 } },
  coalesce: { waitTimeout: '5s', lease: '2s' },
  routes: [
    { name: 'swr', match: { path: '/swr/' }, cache: { staleWhileRevalidate: '60s' } },
    { name: 'early', match: { path: '/early/' }, cache: { earlyRefresh: '50%' } },
    { name: 'default', cache: { staleIfError: '0s' } },
  ],
}))

// The origin's URL is only known inside useFleet's beforeAll: read it from there.
function fleetOriginUrl(): string {
  return fleet.origin.url
}

/** `n` requests for `path`, spread over the gateways in turn. */
function spread(n: number, path: string, headers?: Record<string, string>): Promise<Got[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => fleet.gets[i % fleet.gets.length]!(path, { headers })))
}

describeRedis('fleet mode: three instances, one cache', () => {
  it('one instance fills the cache, the others serve what it stored', async () => {
    const [a, b, c] = fleet.gets
    fleet.origin.on('/shared', { headers: { 'cache-control': 'max-age=60' }, body: 'stored once' })
    expect(await a!('/shared')).toMatchObject({ cacheStatus: 'MISS', body: 'stored once' })
    expect(await b!('/shared')).toMatchObject({ cacheStatus: 'HIT', body: 'stored once' })
    expect(await c!('/shared')).toMatchObject({ cacheStatus: 'HIT', body: 'stored once' })
    expect(fleet.origin.hitsOn('/shared')).toBe(1)
  })

  it('a crowd spread over the instances costs the origin one fetch; everyone gets the body', async () => {
    const body = 'x'.repeat(20_000)
    fleet.origin.on('/cold', { headers: { 'cache-control': 'max-age=60' }, body })
    const open = fleet.origin.closeGate()
    const responses = spread(60, '/cold')
    await until(() => fleet.origin.held === 1 && fleet.waiting() === 59)
    open()
    const all = await responses
    expect(fleet.origin.hitsOn('/cold')).toBe(1)
    expect(all.every((r) => r.status === 200 && r.body === body && r.cacheStatus === 'MISS')).toBe(true)
    expect(all.filter((r) => r.cacheStatusHeader?.includes('collapsed'))).toHaveLength(59)
  })

  it('an expired key refetched by a crowd over the instances: one fetch', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    fleet.origin.on('/hot', (_r, n) => ({ headers: { 'cache-control': 'max-age=1' }, body: `v${n}` }))
    await spread(3, '/hot')
    vi.setSystemTime(Date.now() + 2_000)
    const open = fleet.origin.closeGate()
    const responses = spread(30, '/hot')
    await until(() => fleet.origin.held === 1 && fleet.waiting() === 29)
    open()
    const all = await responses
    expect(fleet.origin.hitsOn('/hot')).toBe(2)
    expect(all.every((r) => r.body === 'v2' && r.cacheStatus === 'EXPIRED')).toBe(true)
  })

  it('a private answer is never shared; the key is marked in Redis so that no instance queues again', async () => {
    fleet.origin.on('/me', (r) => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `user=${String(r.headers['x-user'])}` }))
    const open = fleet.origin.closeGate()
    const users = Array.from({ length: 9 }, (_, i) => fleet.gets[i % 3]!('/me', { headers: { 'x-user': String(i) } }))
    await until(() => fleet.origin.held === 1 && fleet.waiting() === 8)
    open()
    const all = await Promise.all(users)
    all.forEach((r, i) => expect(r.body).toBe(`user=${i}`))
    expect(fleet.origin.hitsOn('/me')).toBe(9)
    // hit-for-miss, fleet-wide: a new crowd on every instance goes straight to the origin
    const gate = fleet.origin.closeGate()
    const again = Array.from({ length: 6 }, (_, i) => fleet.gets[i % 3]!('/me', { headers: { 'x-user': `b${i}` } }))
    await until(() => fleet.origin.held === 6)
    expect(fleet.waiting()).toBe(0)
    gate()
    expect((await Promise.all(again)).map((r) => r.body)).toEqual(['user=b0', 'user=b1', 'user=b2', 'user=b3', 'user=b4', 'user=b5'])
  })

  it('an impersonal 503 is shared with the waiters of every instance', async () => {
    fleet.origin.on('/busy', { status: 503, headers: { 'retry-after': '5' }, body: 'busy' })
    const open = fleet.origin.closeGate()
    const responses = spread(30, '/busy')
    await until(() => fleet.origin.held === 1 && fleet.waiting() === 29)
    open()
    const all = await responses
    expect(all.map((r) => `${r.status} ${r.body} ${String(r.headers['retry-after'])}`)).toEqual(Array.from({ length: 30 }, () => '503 busy 5'))
    expect(fleet.origin.hitsOn('/busy')).toBe(1)
  })

  it('an origin failure is shared with the waiters of every instance: one attempt, every client a 502', async () => {
    fleet.origin.on('/down', { hangUp: true })
    const open = fleet.origin.closeGate()
    const responses = spread(30, '/down')
    await until(() => fleet.origin.held === 1 && fleet.waiting() === 29)
    open()
    expect((await responses).every((r) => r.status === 502)).toBe(true)
    expect(fleet.origin.hitsOn('/down')).toBe(1)
  })

  it('a crowd asking for three variants over the instances: one fetch per variant for the fleet', async () => {
    fleet.origin.on('/variants', (r) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'accept-encoding' },
      body: `for ${String(r.headers['accept-encoding'])}`,
    }))
    const encodings = ['gzip', 'br', 'zstd']
    const open = fleet.origin.closeGate()
    const responses = Promise.all(Array.from({ length: 60 }, (_, i) => fleet.gets[i % 3]!('/variants', { headers: { 'accept-encoding': encodings[Math.floor(i / 3) % 3]! } })))
    await until(() => fleet.origin.held === 1 && fleet.waiting() === 59)
    open()
    const all = await responses
    all.forEach((r, i) => expect(r.body).toBe(`for ${encodings[Math.floor(i / 3) % 3]!}`))
    expect(fleet.origin.hitsOn('/variants')).toBe(3)
    // and every instance has every variant now
    const again = await Promise.all(Array.from({ length: 9 }, (_, i) => fleet.gets[i % 3]!('/variants', { headers: { 'accept-encoding': encodings[Math.floor(i / 3)]! } })))
    expect(again.every((r) => r.cacheStatus === 'HIT')).toBe(true)
  })

  it('stale-while-revalidate: one background refresh for the whole fleet; the others serve UPDATING', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    fleet.origin.on('/swr/a', (_r, n) => ({ headers: { 'cache-control': 'max-age=1' }, body: `v${n}` }))
    await spread(3, '/swr/a')
    vi.setSystemTime(Date.now() + 2_000)
    const open = fleet.origin.closeGate()
    const during = await spread(30, '/swr/a')
    expect(during.every((r) => r.body === 'v1')).toBe(true)
    expect(during.filter((r) => r.cacheStatus === 'STALE')).toHaveLength(1)
    expect(during.filter((r) => r.cacheStatus === 'UPDATING')).toHaveLength(29)
    await until(() => fleet.origin.held === 1)
    open()
    await until(async () => (await fleet.gets[2]!('/swr/a')).body === 'v2')
    expect((await spread(6, '/swr/a')).every((r) => r.body === 'v2' && r.cacheStatus === 'HIT')).toBe(true)
    expect(fleet.origin.hitsOn('/swr/a')).toBe(2)
  })

  it('early refresh: a hot entry is refreshed before it expires, once for the fleet, and nobody sees it stale', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    fleet.origin.on('/early/a', (_r, n) => ({ headers: { 'cache-control': 'max-age=10' }, body: `v${n}` }))
    await spread(3, '/early/a')
    // 0.3 to 1.3 s of its life left (the origin's Date has whole seconds): each hit refreshes it
    // with a probability of 30% or more, so 30 hits refresh it (but for a chance of 1 in 40 000)
    vi.setSystemTime(Date.now() + 8_700)
    const hits = await spread(30, '/early/a')
    expect(hits.every((r) => r.cacheStatus === 'HIT')).toBe(true)
    await until(() => fleet.origin.hitsOn('/early/a') === 2)
    await until(async () => (await spread(3, '/early/a')).every((r) => r.body === 'v2'))
    vi.setSystemTime(Date.now() + 1_500) // past the first entry's expiry
    expect((await spread(3, '/early/a')).every((r) => r.cacheStatus === 'HIT' && r.body === 'v2')).toBe(true)
    expect(fleet.origin.hitsOn('/early/a')).toBe(2)
  })

  it('a lease left by a holder that died is taken over when it runs out', async () => {
    fleet.origin.on('/orphan', { headers: { 'cache-control': 'max-age=60' }, body: 'fetched by the next one' })
    const redis = fleet.gateways[0]!.runtime.redis!
    const id = fleet.gateways[0]!.runtime.store.name === 'tiered' ? await idOf('/orphan') : ''
    // A holder that takes the lock for 300 ms, then never stores nor releases (it "died").
    expect(await lookupOrLock(redis, { entryId: id, lockId: id, keyId: id }, 'dead-holder', 300, '')).toEqual({ kind: 'locked' })
    const started = Date.now()
    const got = await fleet.gets[1]!('/orphan')
    expect(got).toMatchObject({ status: 200, cacheStatus: 'MISS', body: 'fetched by the next one' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(fleet.gateways[1]!.runtime.counters.lockTakeovers).toBe(1)
    expect(fleet.origin.hitsOn('/orphan')).toBe(1)
  })

  it('an entry replaced on one instance is no longer served by another within 100 ms', async () => {
    const [a, b] = fleet.gets
    fleet.origin.on('/coherent', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `v${n}` }))
    await a!('/coherent')
    expect(await b!('/coherent')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' }) // now in B's L1
    expect(await a!('/coherent', { headers: { 'cache-control': 'no-cache' } })).toMatchObject({ body: 'v2' }) // replaced on A
    const started = Date.now()
    await until(async () => (await b!('/coherent')).body === 'v2')
    expect(Date.now() - started).toBeLessThan(100)
  })

  it('an entry stored by one instance is revalidated by another (304), and the refresh is shared', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    fleet.origin.on('/etag', (r) =>
      r.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=1' } }
        : { headers: { etag: '"v1"', 'cache-control': 'max-age=1' }, body: 'the body' },
    )
    expect(await fleet.gets[0]!('/etag')).toMatchObject({ cacheStatus: 'MISS' })
    vi.setSystemTime(Date.now() + 2_000)
    expect(await fleet.gets[1]!('/etag')).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'the body' })
    expect(fleet.origin.seen.at(-1)?.headers['if-none-match']).toBe('"v1"')
    await until(async () => (await fleet.gets[2]!('/etag')).cacheStatus === 'HIT')
    expect(fleet.origin.hitsOn('/etag')).toBe(2)
  })

  it('an unsafe request through one instance drops the URI on every instance', async () => {
    const [a, b] = fleet.gets
    fleet.origin.on('/doc', (r, n) => (r.method === 'GET' ? { headers: { 'cache-control': 'max-age=60' }, body: `v${n}` } : { status: 204 }))
    await a!('/doc')
    expect(await b!('/doc')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
    expect(await a!('/doc', { method: 'DELETE' })).toMatchObject({ status: 204 })
    await until(async () => (await b!('/doc')).cacheStatus === 'MISS')
  })

  it("explain on another instance tells a key marked hit-for-miss in Redis, as its next request would find it", async () => {
    const [a] = fleet.gets
    fleet.origin.on('/private', { headers: { 'cache-control': 'private, max-age=60' }, body: 'mine' })
    expect(await a!('/private')).toMatchObject({ cacheStatus: 'MISS' })
    const report = await explain(fleet.gateways[1]!.runtime, { url: `http://${FLEET_HOST}/private` })
    expect(report.decision).toMatchObject({ action: 'fetch', reason: 'HIT_FOR_MISS' })
    expect(report.decision.notes.join('\n')).toContain('fetches alone')
    expect(fleet.origin.hitsOn('/private')).toBe(1)
  })

  it('a soft purge of a URL leaves none of its variants fresh, not even those its vary index no longer lists', async () => {
    const [a, b] = fleet.gets
    let version = 1
    fleet.origin.on('/many', (r) => ({ headers: { 'cache-control': 'max-age=300', vary: 'x-v' }, body: `v${version} ${String(r.headers['x-v'])}` }))
    // More variants than an index tracks: the first ones stored drop off its list.
    const variants = Array.from({ length: MAX_TRACKED_VARIANTS + 4 }, (_, i) => String(i))
    for (const v of variants) expect(await a!('/many', { headers: { 'x-v': v } })).toMatchObject({ cacheStatus: 'MISS' })
    for (const v of variants) expect(await b!('/many', { headers: { 'x-v': v } })).toMatchObject({ cacheStatus: 'HIT', body: `v1 ${v}` })
    const rt = fleet.gateways[0]!.runtime
    await rt.store.purge(purgeOrder(rt.config, { url: `http://${FLEET_HOST}/many`, soft: true }))
    version = 2
    // The other instance drops its L1 copies when the purge reaches it on the bus (well within 100 ms).
    await new Promise((r) => setTimeout(r, 200))
    // Stale from the purge on (no stale window here): each is fetched again, on either instance.
    const after = []
    for (const [i, v] of variants.entries()) after.push(await (i % 2 === 0 ? a! : b!)('/many', { headers: { 'x-v': v } }))
    expect(after.map((got) => `${got.cacheStatus} ${got.body}`)).toEqual(variants.map((v) => `EXPIRED v2 ${v}`))
    for (const v of variants) expect(await b!('/many', { headers: { 'x-v': v } })).toMatchObject({ cacheStatus: 'HIT', body: `v2 ${v}` })
  })
})

/** The store id of a path under the default route (the key recipe of testConfig: every query parameter). */
async function idOf(path: string): Promise<string> {
  const { keyFor } = await import('../../src/stages/key.js')
  return keyFor(FLEET_HOST, path, '', { query: { mode: 'all' }, headers: [], cookies: [] }, {}).id
}
