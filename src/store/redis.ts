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
import { newVersion, primaryOf } from './ids.js'
import { recordMatches, softened, type PurgeOrder } from './purge.js'
import type { CacheEntry, CacheRecord, CacheStore, Lease, StoreStats, StoreWrite, VaryIndex, WriteResult } from './types.js'

/** Keys a SCAN step asks for: enough to be quick, few enough not to hold Redis up. */
const SCAN_BATCH = 500
/** Tries at marking a vary index soft-purged while other instances store variants under it. */
const MARK_ATTEMPTS = 3

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
    if (stored) await this.index(live)
    return stored ? 'stored' : 'superseded'
  }

  async delete(id: string): Promise<boolean> {
    const keys = [this.redis.key(id, 'e')]
    // Deleting a URI clears its hit-for-miss mark too: what made it unshareable may have changed.
    if (primaryOf(id) === id) keys.push(this.redis.key(id, 'h'))
    const removed = await this.redis.run((c) => c.del(...keys))
    return removed > 0
  }

  /**
   * Tagged entries join one set per tag (`<prefix>{t:<tag>}`), kept as long as its longest-lived
   * member: a purge by tag reads the set instead of scanning every key.
   */
  private async index(writes: readonly StoreWrite[]): Promise<void> {
    const now = Date.now()
    const calls: Array<Promise<unknown>> = []
    for (const { id, record } of writes) {
      if (record.kind !== 'entry' || record.tags === undefined) continue
      const ttlMs = Math.max(1, Math.ceil(record.expiresAt - now))
      for (const tag of record.tags) {
        const key = this.tagKey(tag)
        calls.push(this.redis.run((c) => c.sadd(key, id)))
        // NX for a new set, GT for one that lives shorter than this member (Redis >= 7).
        calls.push(this.redis.run((c) => c.pexpire(key, ttlMs, 'NX')))
        calls.push(this.redis.run((c) => c.pexpire(key, ttlMs, 'GT')))
      }
    }
    await Promise.all(calls)
  }

  private tagKey(tag: string): string {
    return `${this.redis.prefix}{t:${tag}}`
  }

  async purge(order: PurgeOrder): Promise<number> {
    const { target, soft } = order
    const now = Date.now()
    if (target.kind === 'url' && target.ids.length > 0) {
      let entries = 0
      for (const id of target.ids) entries += await this.purgeUri(id, soft, now)
      return entries
    }
    if (target.kind === 'tag') {
      const key = this.tagKey(target.tag)
      const ids = await this.redis.run((c) => c.smembers(key))
      let entries = 0
      for (const id of ids) entries += await this.purgeRecord(id, order, now)
      if (!soft) await this.redis.run((c) => c.del(key))
      return entries
    }
    return this.purgeByScan(order, now)
  }

  /** A URI: its record, and every variant its vary index lists; its hit-for-miss mark too. */
  private async purgeUri(id: string, soft: boolean, now: number): Promise<number> {
    const bytes = await this.redis.run((c) => c.getBuffer(this.redis.key(id, 'e')))
    const record = bytes === null ? undefined : await this.decode(bytes)
    // Variants the index does not list (it keeps the newest) are unreachable once it is gone.
    const ids = record?.kind === 'vary' ? record.variants : [id]
    if (soft) {
      let entries = 0
      for (const variant of ids) entries += await this.soften(variant, now)
      if (record?.kind === 'vary') await this.markSoftened(id, record, now)
      return entries
    }
    const keys = [this.redis.key(id, 'e'), ...ids.filter((v) => v !== id).map((v) => this.redis.key(v, 'e'))]
    const [removed] = await Promise.all([this.redis.run((c) => c.del(...keys)), this.redis.run((c) => c.del(this.redis.key(id, 'h')))])
    for (const v of ids) this.decoded?.delete(v)
    // The index is no entry of its own.
    return Math.max(0, removed - (record?.kind === 'vary' ? 1 : 0))
  }

  /** One record named by a tag set or found by a scan, if it still matches (an id may hold a newer record). */
  private async purgeRecord(id: string, order: PurgeOrder, now: number): Promise<number> {
    const bytes = await this.redis.run((c) => c.getBuffer(this.redis.key(id, 'e')))
    if (bytes === null) return 0
    const record = await this.decode(bytes)
    if (record === undefined || !recordMatches(id, record, order.target)) return 0
    if (order.soft) return record.kind === 'entry' ? await this.replaceSoftened(id, record, now) : 0
    await this.redis.run((c) => c.del(this.redis.key(id, 'e')))
    return record.kind === 'entry' ? 1 : 0
  }

  /**
   * The index remembers the soft purge (VaryIndex.softenedAt), for the variants its list left out.
   * An index stored anew meanwhile (another variant) is read again, a few times at most.
   */
  private async markSoftened(id: string, index: VaryIndex, now: number): Promise<void> {
    let current: CacheRecord | undefined = index
    for (let attempt = 0; attempt < MARK_ATTEMPTS && current?.kind === 'vary' && (current.softenedAt ?? 0) < now; attempt++) {
      const value = await encodeRecord({ ...current, version: newVersion(), softenedAt: now })
      const read: VaryIndex = current
      if ((await this.redis.run((c) => c.replace(this.redis.key(id, 'e'), read.version, value))) === 1) break
      const bytes = await this.redis.run((c) => c.getBuffer(this.redis.key(id, 'e')))
      current = bytes === null ? undefined : await this.decode(bytes)
    }
    this.decoded?.delete(id)
  }

  private async soften(id: string, now: number): Promise<number> {
    const bytes = await this.redis.run((c) => c.getBuffer(this.redis.key(id, 'e')))
    if (bytes === null) return 0
    const record = await this.decode(bytes)
    return record?.kind === 'entry' ? this.replaceSoftened(id, record, now) : 0
  }

  private async replaceSoftened(id: string, entry: CacheEntry, now: number): Promise<number> {
    const stale = softened(entry, now)
    if (stale === entry) return 1
    const value = await encodeRecord(stale, this.compressAboveBytes)
    await this.redis.run((c) => c.replace(this.redis.key(id, 'e'), entry.version, value))
    this.decoded?.delete(id)
    return 1
  }

  /**
   * Prefix, "all", or a URL without a host: every record key of this prefix on every node is
   * looked at (SCAN, in batches). Costs one pass over the keyspace, and only when someone purges.
   */
  private async purgeByScan(order: PurgeOrder, now: number): Promise<number> {
    const client = this.redis.client
    const nodes = client instanceof Cluster ? client.nodes('master') : [client]
    const everything = order.target.kind === 'all' && !order.soft
    if (everything) this.decoded?.clear()
    let entries = 0
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = await this.redis.run(() => node.scan(cursor, 'MATCH', `${this.redis.prefix}*`, 'COUNT', SCAN_BATCH))
        cursor = next
        for (const key of keys) {
          const id = this.idOf(key)
          if (everything) {
            // Records, hit-for-miss marks and tag sets; not the locks of fills under way, nor their channels.
            if (key.endsWith(':l') || key.endsWith(':o') || key.endsWith(':n')) continue
            if (id !== undefined) {
              const kind = await this.redis.run((c) => c.getrange(key, 3, 3))
              if (kind === 'e') entries++
            }
            await this.redis.run((c) => c.unlink(key))
          } else if (id !== undefined) {
            entries += await this.purgeRecord(id, order, now)
          }
        }
      } while (cursor !== '0')
    }
    return entries
  }

  /** `<prefix>{<primary>}<rest>:e` → `<primary><rest>`; undefined for keys that are not records. */
  private idOf(key: string): string | undefined {
    if (!key.endsWith(':e') || !key.startsWith(`${this.redis.prefix}{`)) return undefined
    const inner = key.slice(this.redis.prefix.length + 1, -2)
    const close = inner.indexOf('}')
    return close === -1 ? undefined : inner.slice(0, close) + inner.slice(close + 1)
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
