/**
 * Memory in front of Redis: each process keeps hot records in its own byte-bounded L1 and shares
 * one L2 with the fleet. A lookup answers from L1 without a promise; an L1 miss reads L2 (one
 * read per id at a time, however many requests ask) and warms L1 with the record's own absolute
 * times, never a fresh TTL.
 *
 * L1 stays coherent through a bus (a pub/sub channel every member listens on): a member that
 * stores or deletes a record says so, and the others drop their copy unless it is that very
 * version. A member that lost the bus for a while cannot know what it missed, so it empties its L1.
 *
 * Fail open: when Redis fails, lookups are L1 misses and writes reach L1 only; no call rejects.
 */
import type { GatewayLog } from '../log.js'
import type { RedisConnection } from '../redis/client.js'
import type { MemoryStore } from './memory.js'
import { PurgeIncomplete, type PurgeOrder, type PurgeTarget } from './purge.js'
import type { RedisStore } from './redis.js'
import type { CacheRecord, CacheStore, Lease, StoreStats, StoreWrite, WriteResult } from './types.js'

/** How long an L2 miss is believed, at most, and how many such beliefs are kept. */
const ABSENT_FOR_MS = 1_000
const MAX_ABSENT = 10_000

export class TieredStore implements CacheStore {
  readonly name = 'tiered'
  /** L2 reads under way, shared by every request for the same id. */
  private readonly reading = new Map<string, Promise<CacheRecord | undefined>>()
  /**
   * Ids L2 did not have a moment ago, and until when that is believed: a crowd for a cold key
   * reads L2 once, then goes straight to its flight. A record stored meanwhile is not missed: the
   * flight's claim reads L2 again in the same step as it takes the lock (lookupOrLock), and the bus
   * clears the belief as soon as anyone stores the id.
   */
  private readonly absent = new Map<string, number>()

  constructor(
    readonly l1: MemoryStore,
    readonly l2: RedisStore,
    private readonly redis: RedisConnection,
    private readonly log: GatewayLog,
  ) {}

  /** Listen on the bus from whenever Redis is reachable; a member that lost it empties its L1. */
  start(): void {
    this.redis.onReconnect(() => {
      this.l1.clear()
      this.absent.clear()
    })
    this.redis.listenAlways(this.redis.busChannel, (message) => this.heard(message))
  }

  lookup(id: string): CacheRecord | undefined | Promise<CacheRecord | undefined> {
    const hit = this.l1.lookup(id)
    if (hit !== undefined) return hit
    const until = this.absent.get(id)
    if (until !== undefined) {
      if (until > Date.now()) return undefined
      this.absent.delete(id)
    }
    return this.readL2(id)
  }

  async reload(id: string): Promise<CacheRecord | undefined> {
    let record: CacheRecord | undefined
    try {
      record = await this.l2.lookup(id)
    } catch {
      return this.l1.lookup(id)
    }
    if (record === undefined) this.l1.deleteSync(id)
    else this.keep(id, record)
    return record
  }

  /** A record read from L2 by someone else (a lock script): keep it in L1 as a lookup would. */
  warm(id: string, record: CacheRecord): void {
    this.keep(id, record)
  }

  async write(all: readonly StoreWrite[], lease?: Lease): Promise<WriteResult> {
    // Fetched before a purge this instance has heard of: not for anyone (src/store/memory.ts sincePurges).
    const writes = this.l1.sincePurges(all)
    if (writes.length < all.length) return 'purged'
    let result: WriteResult = 'stored'
    try {
      result = await this.l2.write(writes, lease)
    } catch (err) {
      // Redis is away: this process still serves what it fetched.
      this.log.redisError(err)
      this.keepAll(writes)
      return 'stored'
    }
    // Superseded: a newer fill owns the key; what it stored is what everyone should read.
    if (result === 'stored') {
      this.keepAll(writes)
      this.announce(`r ${writes.map((w) => `${w.id}=${w.record.version}`).join(' ')}`)
    }
    return result
  }

  async delete(id: string): Promise<boolean> {
    const here = this.l1.deleteSync(id)
    let there = false
    try {
      there = await this.l2.delete(id)
    } catch (err) {
      this.log.redisError(err)
    }
    this.announce(`d ${id}`)
    return here || there
  }

  /**
   * Redis first, then every L1: this one at once, the others through the bus. L1 copies are dropped
   * rather than softened: the next lookup reads what Redis holds now. Redis away: this L1 is purged
   * as asked, and the caller hears that the rest of the fleet was not reached.
   */
  async purge(order: PurgeOrder): Promise<number> {
    this.absent.clear()
    let entries: number
    try {
      entries = await this.l2.purge(order)
    } catch (err) {
      this.log.redisError(err)
      throw new PurgeIncomplete(this.l1.purgeSync(order), { cause: err })
    }
    this.l1.purgeSync({ target: order.target, soft: false })
    this.announce(`p ${Buffer.from(JSON.stringify(order.target)).toString('base64url')}`)
    return entries
  }

  async stats(): Promise<StoreStats> {
    const l1 = this.l1.statsSync()
    let l2: { entries: number; bytes: number } | undefined
    try {
      l2 = await this.l2.stats()
    } catch {
      l2 = undefined
    }
    return { entries: l2?.entries ?? l1.entries, bytes: l2?.bytes ?? l1.bytes, tiers: l2 === undefined ? { l1 } : { l1, l2 } }
  }

  close(): Promise<void> {
    return this.l1.close()
  }

  private keep(id: string, record: CacheRecord): void {
    this.absent.delete(id)
    this.l1.writeSync([{ id, record }])
  }

  private keepAll(writes: readonly StoreWrite[]): void {
    for (const { id, record } of writes) this.keep(id, record)
  }

  private readL2(id: string): Promise<CacheRecord | undefined> {
    const running = this.reading.get(id)
    if (running !== undefined) return running
    const read = this.l2.lookup(id).then(
      (record) => {
        if (record !== undefined) this.keep(id, record)
        else {
          if (this.absent.size >= MAX_ABSENT) this.absent.clear()
          this.absent.set(id, Date.now() + ABSENT_FOR_MS)
        }
        return record
      },
      () => undefined,
    )
    this.reading.set(id, read)
    void read.finally(() => this.reading.delete(id))
    return read
  }

  /** Tell the other members; they drop their copies. Best effort: a lost message is what the reconnect rule covers. */
  private announce(change: string): void {
    if (!this.redis.available) return
    const message = `${this.redis.instanceId} ${change}`
    this.redis
      .run((c) => (this.redis.publishCommand === 'SPUBLISH' ? c.spublish(this.redis.busChannel, message) : c.publish(this.redis.busChannel, message)))
      .catch(() => undefined)
  }

  /** `<instance> r <id>=<version> …` (stored), `<instance> d <id>` (deleted) or `<instance> p <target>` (purged; base64url JSON). */
  private heard(message: string): void {
    const parts = message.split(' ')
    if (parts[0] === this.redis.instanceId) return
    if (parts[1] === 'p') {
      let target: PurgeTarget
      try {
        target = JSON.parse(Buffer.from(parts[2] ?? '', 'base64url').toString()) as PurgeTarget
      } catch {
        // Not ours to read (another release?): purge everything rather than keep what may be purged.
        target = { kind: 'all' }
      }
      this.absent.clear()
      this.l1.purgeSync({ target, soft: false })
      return
    }
    if (parts[1] === 'd') {
      for (const id of parts.slice(2)) this.l1.deleteSync(id)
      return
    }
    for (const change of parts.slice(2)) {
      const eq = change.lastIndexOf('=')
      const id = change.slice(0, eq)
      this.absent.delete(id)
      // The very version stored elsewhere (a follower read it from L2 already) stays.
      if (this.l1.peek(id)?.version !== change.slice(eq + 1)) this.l1.deleteSync(id)
    }
  }
}
