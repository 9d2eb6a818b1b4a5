/**
 * The store port's contract, one suite run against every adapter: memory, redis and tiered
 * (memory in front of redis). Real Redis, real bytes, the real clock.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RedisConnection } from '../../src/redis/client.js'
import { newVersion, variantId } from '../../src/store/ids.js'
import { MemoryStore } from '../../src/store/memory.js'
import { RedisStore } from '../../src/store/redis.js'
import { TieredStore } from '../../src/store/tiered.js'
import type { PurgeOrder } from '../../src/store/purge.js'
import type { CacheEntry, CacheStore, VaryIndex } from '../../src/store/types.js'
import { connect, redisConfig, silentLog } from '../helpers/fleet.js'
import { hasRedisServer, startRedis, type RedisServer } from '../helpers/redis.js'

let seq = 0
/** A primary id of the right shape, new for each use. */
function newId(): string {
  return `id${String(++seq).padStart(4, '0')}${Math.random().toString(36).slice(2)}xxxxxxxxxxxxxxxx`.slice(0, 22)
}

function entry(over: Partial<CacheEntry> = {}): CacheEntry {
  const now = Date.now()
  return {
    kind: 'entry',
    version: newVersion(),
    key: 'GET http://example.com/a?x=1',
    status: 200,
    headers: [
      ['content-type', 'application/json'],
      ['etag', '"abc"'],
      ['set-cookie', 'never=stored'],
      ['x-two', 'one'],
      ['x-two', 'two'],
    ],
    body: Buffer.from('{"hello":"world"}'),
    requestTime: now - 20,
    responseTime: now - 10,
    initialAgeMs: 1_500,
    staleAt: now + 30_000.5,
    swrUntil: now + 40_000,
    sieUntil: now + 50_000,
    expiresAt: now + 60_000,
    etag: '"abc"',
    lastModified: undefined,
    noCache: false,
    noStale: true,
    vary: [],
    varySignature: '',
    selector: '',
    size: 300,
    ...over,
  }
}

function index(over: Partial<VaryIndex> = {}): VaryIndex {
  return { kind: 'vary', version: newVersion(), vary: ['accept-encoding'], generation: 'gen1', expiresAt: Date.now() + 60_000, variants: ['a:v:1'], ...over }
}

interface Adapter {
  readonly name: string
  /** Redis-backed: needs a redis-server. */
  readonly needsRedis: boolean
  make(): CacheStore
}

let server: RedisServer | undefined
let redis: RedisConnection | undefined
let compressing: RedisConnection | undefined

const MEMORY = { maxBytes: 16 * 1024 * 1024, maxObjectBytes: 4 * 1024 * 1024 }

const adapters: Adapter[] = [
  { name: 'memory', needsRedis: false, make: () => new MemoryStore(MEMORY) },
  { name: 'redis', needsRedis: true, make: () => new RedisStore(redis!, 0) },
  { name: 'redis, compressing', needsRedis: true, make: () => new RedisStore(compressing!, 1_024) },
  // Without L1: decoded records kept by version, so every lookup must still see the latest write.
  { name: 'redis, keeping decoded records', needsRedis: true, make: () => new RedisStore(redis!, 0, 1024 * 1024) },
  {
    name: 'tiered',
    needsRedis: true,
    make: () => {
      const tiered = new TieredStore(new MemoryStore(MEMORY), new RedisStore(redis!, 0), redis!, silentLog())
      tiered.start()
      return tiered
    },
  },
]

beforeAll(async () => {
  if (!hasRedisServer()) return
  server = await startRedis()
  redis = await connect(redisConfig(server.url))
  compressing = await connect(redisConfig(server.url))
})

afterAll(async () => {
  await redis?.close()
  await compressing?.close()
  await server?.stop()
})

for (const adapter of adapters) {
  const suite = adapter.needsRedis && !hasRedisServer() && process.env.CI !== 'true' ? describe.skip : describe
  suite(`store conformance: ${adapter.name}`, () => {
    let store: CacheStore
    beforeAll(() => {
      store = adapter.make()
    })

    it('an unknown id is a miss', async () => {
      expect(await store.lookup(newId())).toBeUndefined()
    })

    it('an entry comes back as it was written: every field, every byte', async () => {
      const id = newId()
      const e = entry({ body: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) })
      expect(await store.write([{ id, record: e }])).toBe('stored')
      expect(await store.lookup(id)).toEqual(e)
      expect(await store.reload(id)).toEqual(e)
    })

    it('absent validators stay absent, present ones stay as they were', async () => {
      const id = newId()
      const e = entry({ etag: undefined, lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' })
      await store.write([{ id, record: e }])
      const back = (await store.lookup(id)) as CacheEntry
      expect(back.etag).toBeUndefined()
      expect(back.lastModified).toBe('Tue, 01 Dec 2026 10:00:00 GMT')
    })

    it('a large body round-trips (compressed or not)', async () => {
      const id = newId()
      const body = Buffer.from('0123456789abcdef'.repeat(64 * 1024)) // 1 MiB, compressible
      await store.write([{ id, record: entry({ body }) }])
      expect(((await store.lookup(id)) as CacheEntry).body.equals(body)).toBe(true)
    })

    it('an entry and its vary index are written together and read apart', async () => {
      const id = newId()
      const variant = variantId(id, 'gen1', '', 'accept-encoding=gzip')
      const e = entry({ vary: ['accept-encoding'], varySignature: 'accept-encoding=gzip' })
      const i = index({ variants: [variant] })
      expect(await store.write([{ id: variant, record: e }, { id, record: i }])).toBe('stored')
      expect(await store.lookup(id)).toEqual(i)
      expect(await store.lookup(variant)).toEqual(e)
    })

    it('a newer write replaces the record', async () => {
      const id = newId()
      await store.write([{ id, record: entry({ body: Buffer.from('v1') }) }])
      expect(((await store.lookup(id)) as CacheEntry).body.toString()).toBe('v1')
      const v2 = entry({ body: Buffer.from('v2') })
      await store.write([{ id, record: v2 }])
      expect(await store.lookup(id)).toEqual(v2)
    })

    it('a record is gone at its expiresAt, and one already expired is not written', async () => {
      const id = newId()
      await store.write([{ id, record: entry({ expiresAt: Date.now() + 150 }) }])
      expect(await store.lookup(id)).toBeDefined()
      await new Promise((r) => setTimeout(r, 250))
      expect(await store.lookup(id)).toBeUndefined()
      const late = newId()
      await store.write([{ id: late, record: entry({ expiresAt: Date.now() - 1 }) }])
      expect(await store.lookup(late)).toBeUndefined()
    })

    it('delete removes a record and says whether there was one', async () => {
      const id = newId()
      await store.write([{ id, record: entry() }])
      expect(await store.delete(id)).toBe(true)
      expect(await store.lookup(id)).toBeUndefined()
      expect(await store.delete(id)).toBe(false)
    })

    it('stats count what is stored', async () => {
      await store.write([{ id: newId(), record: entry() }])
      const stats = await store.stats()
      expect(stats.entries).toBeGreaterThan(0)
      expect(stats.bytes).toBeGreaterThan(0)
    })

    it('purges a URI by id: its entry, or its vary index and every variant it lists', async () => {
      const plain = newId()
      const varying = newId()
      const other = newId()
      const v1 = variantId(varying, 'g', '', 'accept-encoding=gzip')
      const v2 = variantId(varying, 'g', '', 'accept-encoding=br')
      await store.write([{ id: plain, record: entry() }])
      await store.write([{ id: varying, record: index({ generation: 'g', variants: [v1, v2] }) }])
      await store.write([{ id: v1, record: entry() }])
      await store.write([{ id: v2, record: entry() }])
      await store.write([{ id: other, record: entry() }])
      const url = (ids: string[]): PurgeOrder => ({ target: { kind: 'url', host: 'example.com', target: '/a', ids }, soft: false })
      expect(await store.purge(url([plain]))).toBe(1)
      expect(await store.purge(url([varying]))).toBe(2)
      for (const id of [plain, varying, v1, v2]) expect(await store.lookup(id)).toBeUndefined()
      expect(await store.lookup(other)).toBeDefined()
      expect(await store.purge(url([plain]))).toBe(0)
    })

    it('purges by tag and by prefix, and only what matches', async () => {
      const ids = [newId(), newId(), newId()]
      await store.write([{ id: ids[0]!, record: entry({ key: 'GET http://shop.test/p/1', tags: ['p1', 'list'] }) }])
      await store.write([{ id: ids[1]!, record: entry({ key: 'GET http://shop.test/p/2', tags: ['p2', 'list'] }) }])
      await store.write([{ id: ids[2]!, record: entry({ key: 'GET http://shop.test/q/1', tags: ['q1'] }) }])
      expect(await store.purge({ target: { kind: 'tag', tag: 'p1' }, soft: false })).toBe(1)
      expect(await store.lookup(ids[0]!)).toBeUndefined()
      expect(await store.purge({ target: { kind: 'prefix', host: 'other.test', prefix: '/p/' }, soft: false })).toBe(0)
      expect(await store.purge({ target: { kind: 'prefix', host: 'shop.test', prefix: '/p/' }, soft: false })).toBe(1)
      expect(await store.lookup(ids[1]!)).toBeUndefined()
      expect(await store.lookup(ids[2]!)).toBeDefined()
      // A tag whose entries were replaced without it purges nothing.
      await store.write([{ id: ids[2]!, record: entry({ key: 'GET http://shop.test/q/1' }) }])
      expect(await store.purge({ target: { kind: 'tag', tag: 'q1' }, soft: false })).toBe(0)
      expect(await store.lookup(ids[2]!)).toBeDefined()
    })

    it('soft purge: the entry stays, stale from now, its stale windows as long as before and starting now', async () => {
      const id = newId()
      const e = entry({ tags: ['soft'] })
      await store.write([{ id, record: e }])
      const before = Date.now()
      expect(await store.purge({ target: { kind: 'tag', tag: 'soft' }, soft: true })).toBe(1)
      const after = Date.now()
      const soft = (await store.lookup(id)) as CacheEntry
      expect(soft.body.toString()).toBe(e.body.toString())
      expect(soft.version).not.toBe(e.version)
      expect(soft.staleAt).toBeGreaterThanOrEqual(before)
      expect(soft.staleAt).toBeLessThanOrEqual(after)
      expect(soft.swrUntil - soft.staleAt).toBeCloseTo(e.swrUntil - e.staleAt, 0)
      expect(soft.sieUntil - soft.staleAt).toBeCloseTo(e.sieUntil - e.staleAt, 0)
      expect(soft.expiresAt).toBe(e.expiresAt)
    })

    it('purges everything', async () => {
      const ids = [newId(), newId()]
      for (const id of ids) await store.write([{ id, record: entry() }])
      expect(await store.purge({ target: { kind: 'all' }, soft: false })).toBeGreaterThanOrEqual(2)
      for (const id of ids) expect(await store.lookup(id)).toBeUndefined()
      expect((await store.stats()).entries).toBe(0)
    })
  })
}

/** Polls until the condition holds, or fails after `ms`. */
async function until(condition: () => boolean, ms: number): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

describe.skipIf(!hasRedisServer() && process.env.CI !== 'true')('tiered store: L1 in front of L2', () => {
  it('an L2 hit warms L1 with the record as stored, its absolute times kept', async () => {
    const l2 = new RedisStore(redis!, 0)
    const id = newId()
    const e = entry({ staleAt: Date.now() + 1_234 })
    await l2.write([{ id, record: e }])
    const tiered = new TieredStore(new MemoryStore(MEMORY), l2, redis!, silentLog())
    expect(tiered.l1.lookup(id)).toBeUndefined()
    expect(await tiered.lookup(id)).toEqual(e)
    // Now answered from L1, without a promise, with the same staleAt.
    const again = tiered.lookup(id)
    expect(again).not.toBeInstanceOf(Promise)
    expect((again as CacheEntry).staleAt).toBe(e.staleAt)
  })

  it('a crowd for an id missing from L2 too reads L2 once, then believes it absent for a moment', async () => {
    const tiered = new TieredStore(new MemoryStore(MEMORY), new RedisStore(redis!, 0), redis!, silentLog())
    const id = newId()
    await Promise.all(Array.from({ length: 5 }, () => Promise.resolve(tiered.lookup(id))))
    expect(tiered.lookup(id)).toBeUndefined() // answered without a promise: no L2 read
  })

  it('many lookups of one id missing from L1 make one L2 read', async () => {
    const l2 = new RedisStore(redis!, 0)
    const id = newId()
    await l2.write([{ id, record: entry() }])
    const tiered = new TieredStore(new MemoryStore(MEMORY), l2, redis!, silentLog())
    const seen: string[] = []
    const monitor = await new Redis(server!.url).monitor()
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')))
    await Promise.all(Array.from({ length: 20 }, () => Promise.resolve(tiered.lookup(id))))
    await new Promise((r) => setTimeout(r, 50))
    monitor.disconnect()
    expect(seen.filter((c) => c.startsWith('get ') && c.includes(id))).toHaveLength(1)
  })

  it('a write on one member drops the other members’ L1 copies (the bus), within 100 ms', async () => {
    const a = new TieredStore(new MemoryStore(MEMORY), new RedisStore(redis!, 0), redis!, silentLog())
    const otherConnection = await connect({ ...redis!.config })
    const b = new TieredStore(new MemoryStore(MEMORY), new RedisStore(otherConnection, 0), otherConnection, silentLog())
    a.start()
    b.start()
    try {
      await new Promise((r) => setTimeout(r, 50)) // both listening
      const id = newId()
      expect(await b.lookup(id)).toBeUndefined() // B now believes it absent for a moment…
      await a.write([{ id, record: entry({ body: Buffer.from('v1') }) }])
      await until(() => b.lookup(id) !== undefined, 100) // …until A says it stored it
      expect(((await b.lookup(id)) as CacheEntry).body.toString()).toBe('v1') // in B's L1 now
      const started = Date.now()
      await a.write([{ id, record: entry({ body: Buffer.from('v2') }) }])
      while (b.l1.lookup(id) !== undefined) {
        if (Date.now() - started > 100) throw new Error('B still holds the old copy after 100 ms')
        await new Promise((r) => setTimeout(r, 2))
      }
      expect(((await b.lookup(id)) as CacheEntry).body.toString()).toBe('v2')
      await a.delete(id)
      await new Promise((r) => setTimeout(r, 50))
      expect(b.l1.lookup(id)).toBeUndefined()
      expect(await b.lookup(id)).toBeUndefined()
    } finally {
      await otherConnection.close()
    }
  })

  it('with Redis gone, lookups are misses and writes reach L1: nothing rejects', async () => {
    const dead = await connect({ ...redis!.config, url: server!.url })
    const tiered = new TieredStore(new MemoryStore(MEMORY), new RedisStore(dead, 0), dead, silentLog())
    await dead.close()
    const id = newId()
    expect(await tiered.lookup(id)).toBeUndefined()
    const e = entry()
    expect(await tiered.write([{ id, record: e }])).toBe('stored')
    expect(tiered.lookup(id)).toEqual(e)
    expect(await tiered.delete(id)).toBe(true)
  })
})
