/**
 * The embedded store: an LRU bounded by bytes, not entry count, so that memory stays within
 * the budget whatever the mix of object sizes. lru-cache does the bookkeeping (size-aware
 * eviction, per-item TTL) better than a hand-written list would.
 */
import { LRUCache } from 'lru-cache'
import type { MemoryStoreConfig } from '../config/types.js'
import type { CacheRecord, CacheStore, StoreStats } from './types.js'

/** A vary index costs a few hundred bytes plus its list of variant ids. */
const VARY_INDEX_BYTES = 256
const VARIANT_ID_BYTES = 96

export class MemoryStore implements CacheStore {
  readonly name = 'memory'
  private readonly lru: LRUCache<string, CacheRecord>

  constructor(config: MemoryStoreConfig) {
    this.lru = new LRUCache<string, CacheRecord>({
      maxSize: config.maxBytes,
      maxEntrySize: config.maxObjectBytes + 64 * 1024,
      sizeCalculation: (record, id) =>
        (record.kind === 'entry' ? record.size : VARY_INDEX_BYTES + record.variants.length * VARIANT_ID_BYTES) + id.length,
    })
  }

  get(id: string): Promise<CacheRecord | undefined> {
    return Promise.resolve(this.getSync(id))
  }

  getSync(id: string): CacheRecord | undefined {
    const record = this.lru.get(id)
    if (record === undefined) return undefined
    if (record.expiresAt <= Date.now()) {
      this.lru.delete(id)
      return undefined
    }
    return record
  }

  set(id: string, record: CacheRecord): Promise<void> {
    const ttl = record.expiresAt - Date.now()
    if (ttl > 0) this.lru.set(id, record)
    return Promise.resolve()
  }

  delete(id: string): Promise<boolean> {
    return Promise.resolve(this.lru.delete(id))
  }

  stats(): StoreStats {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize }
  }

  close(): Promise<void> {
    this.lru.clear()
    return Promise.resolve()
  }
}
