/**
 * Streaming to waiters: while the leader of a flight reads a large (or unsized) storable body from
 * the origin, its followers receive that body as it arrives, from the first byte, whenever they
 * joined; it is stored once whole, and never when it breaks or grows past maxObjectSize.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { request } from 'undici'
import type { Gateway } from '../../src/gateway.js'
import { startTestGateway, testConfig } from '../helpers/gateway.js'
import { open, SlowOrigin, until } from '../helpers/slow-origin.js'

let origin: SlowOrigin
let gateway: Gateway
let base: string

beforeAll(async () => {
  origin = await SlowOrigin.start()
  gateway = await startTestGateway(
    testConfig(origin.url, {
      coalesce: { waitTimeout: '5s', hitForMiss: '30s' },
      routes: [
        { name: 'small-objects', match: { path: '/limited' }, cache: { maxObjectSize: '1KiB' } },
        { name: 'default', cache: true },
      ],
    }),
  )
  base = gateway.urls[0] as string
})

afterAll(async () => {
  await gateway.close()
  await origin.close()
})

let n = 0
/** A fresh key per test. */
const fresh = (path: string, query = ''): string => `${path}?t=${++n}${query === '' ? '' : `&${query}`}`

beforeEach(() => {
  origin.finish()
})

describe('streaming to waiters', () => {
  it('followers receive the body as it arrives, before the origin has finished it; one origin request; stored once whole', async () => {
    const url = fresh('/unsized')
    const before = origin.hits
    const leader = await open(base, url)
    await until(() => leader.received() === 'aaaaaa')
    // The flight is still open: these follow it, and get the start they missed at once.
    const followers = await Promise.all([open(base, url), open(base, url)])
    await until(() => followers.every((f) => f.received() === 'aaaaaa'))
    expect(origin.holding).toBe(1)
    expect(leader.headers['x-cache-status']).toBe('MISS')
    for (const f of followers) {
      expect(f.status).toBe(200)
      expect(f.headers['x-cache-status']).toBe('MISS')
      expect(String(f.headers['cache-status'])).toContain('collapsed')
    }

    origin.finish()
    await Promise.all([leader.ended, ...followers.map((f) => f.ended)])
    for (const r of [leader, ...followers]) expect(r.received()).toBe('aaaaaabbbb')
    expect(origin.hits - before).toBe(1)

    const hit = await open(base, url)
    await hit.ended
    expect(hit.headers['x-cache-status']).toBe('HIT')
    expect(hit.received()).toBe('aaaaaabbbb')
    expect(origin.hits - before).toBe(1)
  })

  it('a sized body keeps its Content-Length for every reader', async () => {
    const url = fresh('/sized', 'first=70000&rest=30000')
    const before = origin.hits
    const leader = await open(base, url)
    await until(() => leader.received().length === 70_000)
    const follower = await open(base, url)
    expect(follower.headers['content-length']).toBe('100000')
    expect(leader.headers['content-length']).toBe('100000')
    origin.finish()
    await Promise.all([leader.ended, follower.ended])
    expect(follower.received()).toBe('a'.repeat(70_000) + 'b'.repeat(30_000))
    expect(origin.hits - before).toBe(1)
    const hit = await open(base, url)
    await hit.ended
    expect(hit.headers['x-cache-status']).toBe('HIT')
    expect(hit.received().length).toBe(100_000)
  })

  it('a body that breaks is cut for every reader, and nothing is stored', async () => {
    const url = fresh('/broken')
    const before = origin.hits
    const leader = await open(base, url)
    await until(() => leader.received() === 'aaaaaa')
    const follower = await open(base, url)
    await until(() => follower.received() === 'aaaaaa')
    origin.finish()
    await Promise.all([leader.ended, follower.ended])
    expect(leader.failed()).toBeDefined()
    expect(follower.failed()).toBeDefined()
    expect(origin.hits - before).toBe(1)

    const again = await open(base, url)
    await until(() => again.received() === 'aaaaaa')
    expect(again.headers['x-cache-status']).toBe('MISS')
    expect(origin.hits - before).toBe(2)
    origin.finish()
    await again.ended
  })

  it('past maxObjectSize the readers go on to the end, nothing is stored, and later requests fetch their own', async () => {
    const url = fresh('/limited', 'first=600&rest=2000')
    const before = origin.hits
    const leader = await open(base, url)
    await until(() => leader.received().length === 600)
    const follower = await open(base, url)
    await until(() => follower.received().length === 600)
    origin.finish()
    await Promise.all([leader.ended, follower.ended])
    for (const r of [leader, follower]) expect(r.received()).toBe('a'.repeat(600) + 'b'.repeat(2000))
    expect(origin.hits - before).toBe(1)

    // Too large is remembered (hit-for-miss): the next requests do not wait on one another.
    const next = await Promise.all([open(base, url), open(base, url)])
    await until(() => origin.holding === 2)
    origin.finish()
    await Promise.all(next.map((r) => r.ended))
    expect(next.map((r) => r.headers['x-cache-status'])).toEqual(['MISS', 'MISS'])
    expect(origin.hits - before).toBe(3)
  })

  it('a follower with a conditional gets its 304 from the head at once; one with a Range waits for the whole entry', async () => {
    const url = fresh('/unsized')
    const before = origin.hits
    const leader = await open(base, url)
    await until(() => leader.received() === 'aaaaaa')
    const conditional = await open(base, url, { 'if-none-match': '"v1"' })
    await conditional.ended
    expect(conditional.status).toBe(304)
    expect(origin.holding).toBe(1)

    const ranged = open(base, url, { range: 'bytes=4-7' })
    await new Promise((r) => setTimeout(r, 50))
    origin.finish()
    const r = await ranged
    await r.ended
    expect(r.status).toBe(206)
    expect(r.received()).toBe('aabb')
    expect(r.headers['x-origin-saw-range']).toBeUndefined()
    expect(origin.hits - before).toBe(1)
    await leader.ended
  })

  it('a HEAD follower gets the head alone', async () => {
    const url = fresh('/unsized')
    const leader = await open(base, url)
    await until(() => leader.received() === 'aaaaaa')
    const res = await request(base + url, { method: 'HEAD' })
    await res.body.text()
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-cache-status']).toBe('MISS')
    expect(origin.holding).toBe(1)
    origin.finish()
    await leader.ended
  })
})
