/**
 * The memory store of one worker process among several, without Redis: what any worker stores
 * is relayed by the primary to every sibling's memory, so that a key fetched once is a hit on
 * every worker (instead of the hit ratio falling N-fold), and what any worker deletes goes from
 * all of them. Records travel encoded (src/store/codec.ts), uncompressed, so that they are
 * written here in the order the primary sends them, before the flight's waiters hear "done".
 */
import { decodeRecordSync, encodeRecord } from './codec.js'
import type { MemoryStore } from './memory.js'
import type { PurgeOrder } from './purge.js'
import type { CacheRecord, CacheStore, StoreStats, StoreWrite, WriteResult } from './types.js'
import type { PrimaryChannel } from '../workers/channel.js'

export class ReplicatedStore implements CacheStore {
  readonly name = 'memory, shared by the workers'

  constructor(
    readonly local: MemoryStore,
    private readonly primary: PrimaryChannel,
  ) {
    primary.on((message) => {
      if (message.t === 'put') {
        const now = Date.now()
        for (const { id, bytes } of message.records) {
          const record = decodeRecordSync(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
          if (record.expiresAt > now) local.writeSync([{ id, record }])
        }
      } else if (message.t === 'del') {
        local.deleteSync(message.id)
      } else if (message.t === 'purge') {
        local.purgeSync(message.order)
      }
    })
  }

  lookup(id: string): CacheRecord | undefined {
    return this.local.lookup(id)
  }

  reload(id: string): Promise<CacheRecord | undefined> {
    return Promise.resolve(this.local.lookup(id))
  }

  async write(all: readonly StoreWrite[]): Promise<WriteResult> {
    const writes = this.local.sincePurges(all)
    if (writes.length < all.length) return 'purged'
    this.local.writeSync(writes)
    const records = await Promise.all(writes.map(async (w) => ({ id: w.id, bytes: await encodeRecord(w.record) })))
    this.primary.send({ t: 'put', records })
    return 'stored'
  }

  delete(id: string): Promise<boolean> {
    const removed = this.local.deleteSync(id)
    this.primary.send({ t: 'del', id })
    return Promise.resolve(removed)
  }

  purge(order: PurgeOrder): Promise<number> {
    const entries = this.local.purgeSync(order)
    this.primary.send({ t: 'purge', order })
    return Promise.resolve(entries)
  }

  stats(): Promise<StoreStats> {
    return this.local.stats()
  }

  close(): Promise<void> {
    return this.local.close()
  }
}
