/**
 * The shared store (L2): one Redis value per record, metadata and body together
 * (src/store/codec.ts), kept by Redis until the record's expiresAt. Records of one URI share a
 * hash tag, so the scripts that write them touch one slot of a Redis Cluster. A leader's writes
 * go in under its lease (lua/store-4.lua): only while the lock is still its own, and the lock is
 * released and the flight's waiters woken in the same step.
 *
 * Errors reject: the tiered store above decides what a failing Redis means (nothing, for a request).
 */
import { Cluster } from 'ioredis'
import { DONE_MESSAGE } from '../coalesce/messages.js'
import type { RedisConnection } from '../redis/client.js'
import { store, type EncodedWrite } from '../redis/scripts.js'
import { LRUCache } from 'lru-cache'
import { CodecError, decodeRecord, encodeRecord, versionOf } from './codec.js'
import { primaryOf } from './ids.js'
import type { CacheRecord, CacheStore, Lease, StoreStats, StoreWrite, WriteResult } from './types.js'

export class RedisStore implements CacheStore {
  readonly name = 'redis'
  /** Values that were not corral records of this format (counted, read as misses). */
  unreadable = 0

  /**
   * Records decoded lately, by id: when Redis answers with the very version decoded before, the
   * bytes are not parsed again. Only without an L1 (which keeps decoded records itself); every
   * lookup still reads Redis, so what is served is always what the fleet stored last.
   */
  private readonly decoded: LRUCache<string, CacheRecord> | undefined

  constructor(
    private readonly redis: RedisConnection,
    private readonly compressAboveBytes: number,
    decodedCacheBytes = 0,
  ) {
    this.decoded =
      decodedCacheBytes > 0
        ? new LRUCache({ maxSize: decodedCacheBytes, sizeCalculation: (r, id) => (r.kind === 'entry' ? r.size : 256) + id.length })
        : undefined
  }

  async lookup(id: string): Promise<CacheRecord | undefined> {
    const bytes = await this.redis.run((c) => c.getBuffer(this.redis.key(id, 'e')))
    if (bytes === null) {
      this.decoded?.delete(id)
      return undefined
    }
    const known = this.decoded?.get(id)
    if (known !== undefined && known.version === versionOf(bytes)) return known
    const record = await this.decode(bytes)
    if (record !== undefined && this.decoded !== undefined && record.kind === 'entry' && record.size <= this.decoded.maxSize) {
      this.decoded.set(id, record)
    }
    return record
  }

  reload(id: string): Promise<CacheRecord | undefined> {
    return this.lookup(id)
  }

  /** A record read by a script (lookupOrLock), in the same terms as lookup. */
  async decode(bytes: Buffer): Promise<CacheRecord | undefined> {
    try {
      return await decodeRecord(bytes)
    } catch (err) {
      if (!(err instanceof CodecError)) throw err
      this.unreadable++
      return undefined
    }
  }

  async write(writes: readonly StoreWrite[], lease?: Lease): Promise<WriteResult> {
    const now = Date.now()
    const live = writes.filter((w) => w.record.expiresAt > now)
    if (live.length === 0) return 'stored'
    const fill = lease !== undefined && lease.issuer === 'redis' && lease.state === 'held' ? lease : undefined
    const encoded = await Promise.all(
      live.map(
        async (w): Promise<EncodedWrite> => ({
          id: w.id,
          bytes: await encodeRecord(w.record, this.compressAboveBytes),
          // Redis counts from when it receives the command; a few ms early is better than late.
          ttlMs: Math.max(1, Math.ceil(w.record.expiresAt - now)),
        }),
      ),
    )
    const first = encoded[0] as EncodedWrite
    for (const e of encoded) {
      if (primaryOf(e.id) !== primaryOf(first.id)) throw new Error('one write, one URI: records of several primary ids cannot be stored together')
    }
    // An entry and its index at most (src/stages/store.ts entryWrites); more go one by one.
    const records = encoded.length === 1 ? ([first] as const) : ([first, encoded[1] as EncodedWrite] as const)
    const stored = await store(this.redis, records, fill === undefined ? undefined : { lockId: fill.lockId, token: fill.token, message: DONE_MESSAGE })
    for (const rest of encoded.slice(2)) await store(this.redis, [rest], undefined)
    if (fill !== undefined) fill.state = stored ? 'released' : 'lost'
    return stored ? 'stored' : 'superseded'
  }

  async delete(id: string): Promise<boolean> {
    const keys = [this.redis.key(id, 'e')]
    // Deleting a URI clears its hit-for-miss mark too: what made it unshareable may have changed.
    if (primaryOf(id) === id) keys.push(this.redis.key(id, 'h'))
    const removed = await this.redis.run((c) => c.del(...keys))
    return removed > 0
  }

  /** What the Redis server (or cluster) holds in all: keys, and the memory it uses. */
  async stats(): Promise<StoreStats> {
    const client = this.redis.client
    const nodes = client instanceof Cluster ? client.nodes('master') : [client]
    let entries = 0
    let bytes = 0
    for (const node of nodes) {
      const [size, memory] = await Promise.all([this.redis.run(() => node.dbsize()), this.redis.run(() => node.info('memory'))])
      entries += size
      bytes += Number(/used_memory:(\d+)/.exec(memory)?.[1] ?? 0)
    }
    return { entries, bytes }
  }

  /** The connection belongs to the runtime, which closes it after everything that uses it. */
  close(): Promise<void> {
    return Promise.resolve()
  }
}
