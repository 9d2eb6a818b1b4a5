/**
 * The embedded store: an LRU bounded by bytes, not entry count, so that memory stays within
 * the budget whatever the mix of object sizes. lru-cache does the bookkeeping (size-aware
 * eviction) better than a hand-written list would. Also the in-process tier (L1) of the tiered store.
 *
 * The budget is what the store makes the process hold, not the sum of its bodies: each record is
 * charged what it really costs (see recordBytes), and part of the budget is kept back for what the
 * store's own turnover leaves to the garbage collector (GC_RESERVE_BYTES). Measured with
 * `node --import tsx load-tests/memory.ts`; checked by test/unit/memory-store.test.ts.
 */
import { LRUCache } from 'lru-cache'
import type { MemoryStoreConfig } from '../config/types.js'
import { recordMatches, softened, type PurgeOrder } from './purge.js'
import type { CacheEntry, CacheRecord, CacheStore, StoreStats, StoreWrite, WriteResult } from './types.js'

// What a record costs, in bytes, on 64-bit Node (V8 without pointer compression, as Node ships).
// Calibrated on Node 20 / x64: the live heap and ArrayBuffer bytes an entry adds, after a full GC
// (test/unit/memory-store.test.ts checks that the charge covers them), and the RSS a corral
// process grows by per entry (load-tests/memory.ts).

/**
 * Live heap per entry, besides its strings and header fields: the entry object and its boxed
 * numbers, the body's Buffer and ArrayBuffer objects, the headers array, deliver's flattened copy
 * of them and its ready-made HIT head (src/stages/deliver.ts: their objects and arrays, the Age,
 * Cache-Status and Content-Length strings, the WeakMap slot), `vary`, and lru-cache's slots and
 * Map entry for the id. Measured: about 950 bytes.
 */
export const ENTRY_OVERHEAD_BYTES = 1024
/** Live heap per stored header field: its [name, value] array, its slot, its two slots in the flattened copy and in each of the HIT head's two arrays. */
export const HEADER_FIELD_BYTES = 128
/** Live heap of a vary index, besides its strings: the object, its two arrays, lru-cache's slots. */
export const VARY_INDEX_OVERHEAD_BYTES = 384
/**
 * The plain-HIT head src/stages/hit-fast.ts keeps per entry, besides its field lines: its object,
 * the status line and the Age, Cache-Status, Content-Length and Connection lines, and the Buffer
 * object and pool record of its bytes. The field lines themselves are charged three times (the
 * head's prefix and whole text as strings, and its bytes).
 */
const HIT_HEAD_BYTES = 512
/** A slot in an array of strings (a vary index's field names and variant ids). */
const SLOT_BYTES = 8
/**
 * The V8 heap is larger than its live objects (free space in its pages, room for young objects):
 * the heap grew by 1.6–1.7 bytes per live byte as entries were added. Heap bytes are charged this much.
 */
export const HEAP_SLACK = 1.6
/** Outside the heap, per body: the ArrayBuffer's native backing-store record and the allocator's own headers. */
export const BODY_NATIVE_BYTES = 512
/**
 * The budget kept back, at most, for bodies the store has let go of and the garbage collector has
 * not freed yet: V8 frees an ArrayBuffer only when it collects its object, and the freed bytes then
 * stay in the allocator for the next bodies, so RSS follows the highest live + dead total. Measured
 * (load-tests/memory.ts, 64 KiB bodies stored as fast as corral can): 30–70 MB of dead bodies at
 * budgets from 64 MiB to 1 GiB, never more — about the 64 MB of ArrayBuffer growth after which V8
 * collects. Not proportional to the budget, hence a fixed amount.
 */
export const GC_RESERVE_BYTES = 64 * 1024 * 1024
/** …and at most this share of the budget, so that a small budget still holds something. */
export const GC_RESERVE_SHARE = 0.25

/** A V8 sequential string: a 16-byte header, then one byte per character (two past Latin-1), in 8-byte steps. */
export function stringBytes(s: string): number {
  // eslint-disable-next-line no-control-regex
  const chars = /[^\u0000-\u00ff]/.test(s) ? 2 * s.length : s.length
  return 16 + ((chars + 7) & ~7)
}

/** The parts of an entry that cost memory. */
export type EntryParts = Pick<CacheEntry, 'key' | 'version' | 'headers' | 'body' | 'etag' | 'lastModified' | 'vary' | 'varySignature' | 'selector' | 'tags'>

/**
 * What an entry costs in memory, without the id it is stored under: CacheEntry.size. The body's
 * whole ArrayBuffer (a view keeps all of it alive; see ownBody) and its native bookkeeping, plus the
 * entry's heap (its strings, header fields and objects) with the heap's slack.
 */
export function entryBytes(e: EntryParts): number {
  let heap = ENTRY_OVERHEAD_BYTES + stringBytes(e.key) + stringBytes(e.version) + stringBytes(e.varySignature) + stringBytes(e.selector)
  let lines = 0
  for (const [name, value] of e.headers) {
    heap += HEADER_FIELD_BYTES + stringBytes(name) + stringBytes(value)
    lines += name.length + value.length + 4
  }
  heap += HIT_HEAD_BYTES + 2 * lines
  for (const name of e.vary) heap += SLOT_BYTES + stringBytes(name)
  for (const tag of e.tags ?? []) heap += SLOT_BYTES + stringBytes(tag)
  // Usually the very strings of the ETag and Last-Modified fields, counted again to stay on the safe side.
  if (e.etag !== undefined) heap += stringBytes(e.etag)
  if (e.lastModified !== undefined) heap += stringBytes(e.lastModified)
  return e.body.buffer.byteLength + BODY_NATIVE_BYTES + lines + Math.ceil(heap * HEAP_SLACK)
}

/**
 * What `record`, stored under `id`, costs this process: its share of the budget. An entry is
 * charged at least the size it says it has (one computed elsewhere, or by an older release).
 */
export function recordBytes(id: string, record: CacheRecord): number {
  if (record.kind === 'entry') return Math.max(record.size, entryBytes(record) + Math.ceil(stringBytes(id) * HEAP_SLACK))
  let heap = VARY_INDEX_OVERHEAD_BYTES + stringBytes(id) + stringBytes(record.version) + stringBytes(record.generation)
  for (const name of record.vary) heap += SLOT_BYTES + stringBytes(name)
  for (const variant of record.variants) heap += SLOT_BYTES + stringBytes(variant)
  return Math.ceil(heap * HEAP_SLACK)
}

/**
 * `body` in a Buffer of its own, exactly its size. A body read from a socket is often a view into
 * a larger chunk, and a small one made by Buffer.concat or Buffer.from a slice of Node's shared
 * 8 KiB pool: stored as it is, it would keep all of that alive for as long as it stays cached.
 */
export function ownBody(body: Buffer): Buffer {
  if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) return body
  const own = Buffer.allocUnsafeSlow(body.byteLength)
  body.copy(own)
  return own
}

function owned(record: CacheRecord): CacheRecord {
  if (record.kind !== 'entry') return record
  const body = ownBody(record.body)
  return body === record.body ? record : ({ ...record, body } satisfies CacheEntry)
}

/**
 * How long a purge is remembered, to keep what was fetched before it from being stored after it:
 * longer than any fetch takes (a fetch stays within its upstream's timeouts, which are seconds).
 * MAX_PURGES bounds the memory and the work per write when purges come by the thousand; past it the
 * oldest are forgotten first.
 */
const PURGE_MEMORY_MS = 10 * 60_000
const MAX_PURGES = 256

export class MemoryStore implements CacheStore {
  readonly name: string = 'memory'
  /** The configured budget; the LRU itself holds records up to this minus the GC reserve. */
  readonly maxBytes: number
  /** Records dropped to make room for others (metrics: corral_store_evictions_total). */
  evictions = 0
  private readonly lru: LRUCache<string, CacheRecord>
  /** Purges of the last PURGE_MEMORY_MS (at most MAX_PURGES), oldest first: see sincePurges. */
  private readonly purges: Array<{ readonly at: number; readonly order: PurgeOrder }> = []

  constructor(config: Pick<MemoryStoreConfig, 'maxBytes' | 'maxObjectBytes'>) {
    this.maxBytes = config.maxBytes
    const reserve = Math.min(GC_RESERVE_BYTES, Math.floor(config.maxBytes * GC_RESERVE_SHARE))
    const maxSize = Math.max(1, config.maxBytes - reserve)
    this.lru = new LRUCache<string, CacheRecord>({
      maxSize,
      // Room for the largest object's headers and bookkeeping; never more than the LRU holds.
      maxEntrySize: Math.min(maxSize, config.maxObjectBytes + 64 * 1024),
      sizeCalculation: (record, id) => recordBytes(id, record),
      dispose: (_record, _id, reason) => {
        if (reason === 'evict') this.evictions++
      },
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
    const kept = this.sincePurges(writes)
    this.put(kept)
    return Promise.resolve(kept.length < writes.length ? 'purged' : 'stored')
  }

  writeSync(writes: readonly StoreWrite[]): void {
    this.put(this.sincePurges(writes))
  }

  private put(writes: readonly StoreWrite[]): void {
    const now = Date.now()
    for (const { id, record } of writes) if (record.expiresAt > now) this.lru.set(id, owned(record))
  }

  /**
   * The writes as a purge made since would leave them: an entry whose request went to the origin
   * before a purge that names it was fetched before it, and may be what the purge was meant to
   * remove (the origin changed, then the purge came while the fetch was under way). Such an entry
   * is left out (a soft purge: stored stale). Entries fetched later, and vary indexes, pass as they are.
   */
  sincePurges(writes: readonly StoreWrite[], now = Date.now()): readonly StoreWrite[] {
    if (this.purges.length === 0) return writes
    this.forgetPurges(now)
    let kept: StoreWrite[] | undefined
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i] as StoreWrite
      const after = this.afterPurges(write, now)
      if (after === write && kept === undefined) continue
      kept ??= writes.slice(0, i)
      if (after !== undefined) kept.push(after)
    }
    return kept ?? writes
  }

  private afterPurges(write: StoreWrite, now: number): StoreWrite | undefined {
    const { id, record } = write
    if (record.kind !== 'entry') return write
    let entry = record
    for (const { at, order } of this.purges) {
      if (at <= record.requestTime || !recordMatches(id, record, order.target)) continue
      if (!order.soft) return undefined
      entry = softened(entry, now)
    }
    return entry === record ? write : { id, record: entry }
  }

  private forgetPurges(now: number): void {
    let old = 0
    while (old < this.purges.length && (this.purges[old] as { at: number }).at < now - PURGE_MEMORY_MS) old++
    if (old > 0) this.purges.splice(0, old)
  }

  delete(id: string): Promise<boolean> {
    return Promise.resolve(this.deleteSync(id))
  }

  deleteSync(id: string): boolean {
    return this.lru.delete(id)
  }

  purge(order: PurgeOrder): Promise<number> {
    return Promise.resolve(this.purgeSync(order))
  }

  /** A scan of every record: a few ms for 100k of them, and only when someone purges. */
  purgeSync(order: PurgeOrder, now = Date.now()): number {
    this.purges.push({ at: now, order })
    if (this.purges.length > MAX_PURGES) this.purges.shift()
    const { target } = order
    if (target.kind === 'all' && !order.soft) {
      let entries = 0
      for (const record of this.lru.values()) if (record.kind === 'entry') entries++
      this.lru.clear()
      return entries
    }
    const matched: Array<[string, CacheRecord]> = []
    for (const [id, record] of this.lru.entries()) if (recordMatches(id, record, target)) matched.push([id, record])
    let entries = 0
    for (const [id, record] of matched) {
      if (record.kind === 'entry') entries++
      if (!order.soft) this.lru.delete(id)
      else if (record.kind === 'entry' && record.staleAt > now) this.lru.set(id, softened(record, now))
    }
    return entries
  }

  /** Every record, for a tier above that cannot tell which of them went stale (src/store/tiered.ts). */
  clear(): void {
    this.lru.clear()
  }

  /** `bytes`: what the records cost by recordBytes; `maxBytes`: the budget, GC reserve included. */
  statsSync(): { entries: number; bytes: number; maxBytes: number } {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize, maxBytes: this.maxBytes }
  }

  stats(): Promise<StoreStats> {
    const { entries, bytes } = this.statsSync()
    return Promise.resolve({ entries, bytes })
  }

  close(): Promise<void> {
    this.lru.clear()
    return Promise.resolve()
  }
}
