/**
 * The embedded store: an LRU bounded by bytes, not entry count, so that memory stays within
 * the budget whatever the mix of object sizes. lru-cache does the bookkeeping (size-aware
 * eviction) better than a hand-written list would. Also the in-process tier (L1) of the tiered store.
 */
import { LRUCache } from 'lru-cache'
import type { MemoryStoreConfig } from '../config/types.js'
import type { CacheRecord, CacheStore, StoreStats, StoreWrite, WriteResult } from './types.js'

/** A vary index costs a few hundred bytes plus its list of variant ids. */
const VARY_INDEX_BYTES = 256
const VARIANT_ID_BYTES = 96

export class MemoryStore implements CacheStore {
  readonly name: string = 'memory'
  private readonly lru: LRUCache<string, CacheRecord>

  constructor(config: Pick<MemoryStoreConfig, 'maxBytes' | 'maxObjectBytes'>) {
    this.lru = new LRUCache<string, CacheRecord>({
      maxSize: config.maxBytes,
      maxEntrySize: config.maxObjectBytes + 64 * 1024,
      sizeCalculation: (record, id) =>
        (record.kind === 'entry' ? record.size : VARY_INDEX_BYTES + record.variants.length * VARIANT_ID_BYTES) + id.length,
    })
  }

  lookup(id: string): CacheRecord | undefined {
    const record = this.lru.get(id)
    if (record === undefined) return undefined
    if (record.expiresAt <= Date.now()) {
      this.lru.delete(id)
      return undefined
    }
    return record
  }

  /** Without the LRU's recency update: a tier above looking for what it may drop. */
  peek(id: string): CacheRecord | undefined {
    return this.lru.peek(id)
  }

  reload(id: string): Promise<CacheRecord | undefined> {
    return Promise.resolve(this.lookup(id))
  }

  write(writes: readonly StoreWrite[]): Promise<WriteResult> {
    this.writeSync(writes)
    return Promise.resolve('stored')
  }

  writeSync(writes: readonly StoreWrite[]): void {
    const now = Date.now()
    for (const { id, record } of writes) if (record.expiresAt > now) this.lru.set(id, record)
  }

  delete(id: string): Promise<boolean> {
    return Promise.resolve(this.deleteSync(id))
  }

  deleteSync(id: string): boolean {
    return this.lru.delete(id)
  }

  /** Every record, for a tier above that cannot tell which of them went stale (src/store/tiered.ts). */
  clear(): void {
    this.lru.clear()
  }

  statsSync(): { entries: number; bytes: number } {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize }
  }

  stats(): Promise<StoreStats> {
    return Promise.resolve(this.statsSync())
  }

  close(): Promise<void> {
    this.lru.clear()
    return Promise.resolve()
  }
}
