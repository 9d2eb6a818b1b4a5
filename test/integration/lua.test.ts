/** The scripts of lua/, called directly against a real Redis: the lock's contract, one rule at a time. */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { RedisConnection } from '../../src/redis/client.js'
import { flightChannel, lookupOrLock, release, renew, store, type EncodedWrite } from '../../src/redis/scripts.js'
import { encodeRecord } from '../../src/store/codec.js'
import { newVersion } from '../../src/store/ids.js'
import type { VaryIndex } from '../../src/store/types.js'
import { connect, redisConfig } from '../helpers/fleet.js'
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis.js'

let server: RedisServer
let redis: RedisConnection
let n = 0

/** A fresh key for each test: primary id, its flight and its record. */
function flight(): { entryId: string; lockId: string; keyId: string } {
  const id = `k${++n}${'x'.repeat(20)}`.slice(0, 22)
  return { entryId: id, lockId: id, keyId: id }
}

async function record(version = newVersion()): Promise<EncodedWrite & { version: string }> {
  const index: VaryIndex = { kind: 'vary', version, vary: ['accept'], generation: 'g', expiresAt: Date.now() + 60_000, variants: [] }
  return { id: '', bytes: await encodeRecord(index), ttlMs: 60_000, version }
}

function heard(channel: string): Promise<{ messages: string[]; stop: () => void }> {
  const messages: string[] = []
  return redis.listen(channel, (m) => messages.push(m)).then((stop) => ({ messages, stop }))
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5))
}

describeRedis('lua scripts', () => {
  beforeAll(async () => {
    server = await startRedis()
    redis = await connect(redisConfig(server.url))
  })
  afterAll(async () => {
    await redis?.close()
    await server?.stop()
  })

  it('lookupOrLock: the first caller gets the lock, a second one waits for its lease', async () => {
    const f = flight()
    expect(await lookupOrLock(redis, f, 'token-a', 5_000, '')).toEqual({ kind: 'locked' })
    const second = await lookupOrLock(redis, f, 'token-b', 5_000, '')
    expect(second.kind).toBe('wait')
    expect(second.kind === 'wait' && second.pttlMs > 4_000 && second.pttlMs <= 5_000).toBe(true)
  })

  it('store-4 under the lock: stores, releases, and says "done" on the flight channel in one step', async () => {
    const f = flight()
    const listening = await heard(flightChannel(redis, f.lockId))
    expect(await lookupOrLock(redis, f, 'filler', 5_000, '')).toEqual({ kind: 'locked' })
    const r = await record()
    expect(await store(redis, [{ ...r, id: f.entryId }], { lockId: f.lockId, token: 'filler', message: 'd' })).toBe(true)
    await until(() => listening.messages.length === 1)
    expect(listening.messages).toEqual(['d'])
    listening.stop()
    // The record is there for anyone who has not seen it; the lock is free again.
    const found = await lookupOrLock(redis, f, 'other', 5_000, '')
    expect(found.kind === 'record' && found.bytes.equals(r.bytes)).toBe(true)
    expect(await redis.client.exists(redis.key(f.lockId, 'l'))).toBe(0)
  })

  it('lookupOrLock: a caller that has seen this very version tries the lock instead', async () => {
    const f = flight()
    const r = await record()
    expect(await store(redis, [{ ...r, id: f.entryId }], undefined)).toBe(true)
    expect(await lookupOrLock(redis, f, 't', 5_000, r.version)).toEqual({ kind: 'locked' })
  })

  it('a wrong token can neither renew, release nor store', async () => {
    const f = flight()
    await lookupOrLock(redis, f, 'owner', 5_000, '')
    const listening = await heard(flightChannel(redis, f.lockId))
    expect(await renew(redis, f.lockId, 'intruder', 60_000)).toBe(false)
    expect(await release(redis, f, 'intruder', 'g')).toBe(false)
    const r = await record()
    expect(await store(redis, [{ ...r, id: f.entryId }], { lockId: f.lockId, token: 'intruder', message: 'd' })).toBe(false)
    expect(await redis.client.get(redis.key(f.lockId, 'l'))).toBe('owner')
    expect(await redis.client.exists(redis.key(f.entryId, 'e'))).toBe(0)
    expect(await redis.client.pttl(redis.key(f.lockId, 'l'))).toBeLessThanOrEqual(5_000)
    await new Promise((r2) => setTimeout(r2, 50))
    expect(listening.messages).toEqual([])
    listening.stop()
    expect(await renew(redis, f.lockId, 'owner', 60_000)).toBe(true)
    expect(await redis.client.pttl(redis.key(f.lockId, 'l'))).toBeGreaterThan(5_000)
  })

  it('after the lease runs out another caller takes over, and the old holder can no longer store', async () => {
    const f = flight()
    await lookupOrLock(redis, f, 'slow', 100, '')
    expect((await lookupOrLock(redis, f, 'next', 5_000, '')).kind).toBe('wait')
    await new Promise((r) => setTimeout(r, 150))
    expect(await lookupOrLock(redis, f, 'next', 5_000, '')).toEqual({ kind: 'locked' })
    const newer = await record()
    expect(await store(redis, [{ ...newer, id: f.entryId }], { lockId: f.lockId, token: 'next', message: 'd' })).toBe(true)
    // The superseded holder finishes late: its older content must not replace the newer.
    const older = await record()
    expect(await store(redis, [{ ...older, id: f.entryId }], { lockId: f.lockId, token: 'slow', message: 'd' })).toBe(false)
    expect((await redis.client.getBuffer(redis.key(f.entryId, 'e')))?.equals(newer.bytes)).toBe(true)
  })

  it('release-2 tells the waiters and can mark the key hit-for-miss; a later store clears the mark', async () => {
    const f = flight()
    await lookupOrLock(redis, f, 'owner', 5_000, '')
    const listening = await heard(flightChannel(redis, f.lockId))
    expect(await release(redis, f, 'owner', 'n{"reason":"PRIVATE"}', { hitForMiss: { ms: 10_000, reason: 'PRIVATE' } })).toBe(true)
    await until(() => listening.messages.length === 1)
    expect(listening.messages).toEqual(['n{"reason":"PRIVATE"}'])
    listening.stop()
    expect(await lookupOrLock(redis, f, 'next', 5_000, '')).toEqual({ kind: 'hit-for-miss', reason: 'PRIVATE' })
    expect(await redis.client.pttl(redis.key(f.keyId, 'h'))).toBeGreaterThan(9_000)
    const r = await record()
    await store(redis, [{ ...r, id: f.entryId }], undefined)
    expect(await redis.client.exists(redis.key(f.keyId, 'h'))).toBe(0)
  })

  it('release-3 keeps its message a moment for the waiters of that filler only', async () => {
    const f = flight()
    await lookupOrLock(redis, f, 'owner', 5_000, '')
    const waiting = await lookupOrLock(redis, f, 'waiter', 5_000, '')
    expect(waiting).toMatchObject({ kind: 'wait', holder: 'owner' })
    expect(await release(redis, f, 'owner', 'e{"code":"CORRAL_ERR_ORIGIN_UNREACHABLE"}', { keepMs: 5_000 })).toBe(true)
    // The waiter looks again (it was still subscribing when the message went out): it hears it.
    expect(await lookupOrLock(redis, f, 'waiter', 5_000, '', 'owner')).toEqual({ kind: 'released', message: 'e{"code":"CORRAL_ERR_ORIGIN_UNREACHABLE"}' })
    // Someone who never waited for that filler is not answered with its old failure: it leads.
    expect(await lookupOrLock(redis, f, 'newcomer', 5_000, '')).toEqual({ kind: 'locked' })
  })

  it('store-4 without a token stores whoever holds the lock, and leaves the lock alone', async () => {
    const f = flight()
    await lookupOrLock(redis, f, 'owner', 5_000, '')
    const r = await record()
    expect(await store(redis, [{ ...r, id: f.entryId }], undefined)).toBe(true)
    expect(await redis.client.get(redis.key(f.lockId, 'l'))).toBe('owner')
  })

  it('store-4 writes an entry and its index together, each with its own TTL', async () => {
    const f = flight()
    const a = await record()
    const b = await record()
    await store(redis, [{ ...a, id: `${f.entryId}:v:abc`, ttlMs: 30_000 }, { ...b, id: f.entryId, ttlMs: 60_000 }], undefined)
    const [ttlA, ttlB] = await Promise.all([redis.client.pttl(redis.key(`${f.entryId}:v:abc`, 'e')), redis.client.pttl(redis.key(f.entryId, 'e'))])
    expect(ttlA).toBeGreaterThan(29_000)
    expect(ttlA).toBeLessThanOrEqual(30_000)
    expect(ttlB).toBeGreaterThan(59_000)
  })

  it('replace-1 rewrites a record only while it is the version read, and keeps its time to live', async () => {
    const f = flight()
    const a = await record()
    await store(redis, [{ ...a, id: f.entryId, ttlMs: 30_000 }], undefined)
    const key = redis.key(f.entryId, 'e')
    const b = await record()
    expect(await redis.client.replace(key, 'not-the-one!', b.bytes)).toBe(0)
    expect(await redis.client.replace(key, a.version, b.bytes)).toBe(1)
    expect((await redis.client.getBuffer(key))?.equals(b.bytes)).toBe(true)
    const ttl = await redis.client.pttl(key)
    expect(ttl).toBeGreaterThan(29_000)
    expect(ttl).toBeLessThanOrEqual(30_000)
    // Gone meanwhile: nothing is written back.
    await redis.client.del(key)
    expect(await redis.client.replace(key, b.version, a.bytes)).toBe(0)
    expect(await redis.client.exists(key)).toBe(0)
  })

  it('every key of one URI is in the slot of its primary id', () => {
    const id = 'AbCdEfGhIjKlMnOpQrStUv'
    for (const key of [redis.key(id, 'e'), redis.key(`${id}:v:xyz`, 'e'), redis.key(`${id}:f:abc`, 'l'), redis.key(id, 'h'), flightChannel(redis, id)]) {
      expect(key).toContain(`{${id}}`)
    }
  })
})
