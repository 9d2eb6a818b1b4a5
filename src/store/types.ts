/**
 * The store port. Adapters (memory, redis, tiered) keep records by id and drop them at
 * `expiresAt`; every freshness decision is made by the policy from the absolute times a record
 * carries, so a record moved between tiers or instances keeps its remaining life.
 *
 * Ids (src/store/ids.ts): a primary id is the 22-character hash of a URI key; every other id
 * that belongs to it (its variants) is `<primary>:<suffix>`. An adapter that shards keeps all of a
 * primary's ids together (redis: the `{<primary>}` hash tag, so that one script touches one slot).
 */
import type { HeaderPairs } from '../policy/types.js'
import type { PurgeOrder } from './purge.js'

/** A stored response: one variant of one cache key. */
export interface CacheEntry {
  readonly kind: 'entry'
  /**
   * Names this write of the record and no other (src/store/ids.ts newVersion): a fleet member
   * that saw version A and finds version B knows someone stored something newer.
   */
  readonly version: string
  /** The full cache key (method, scheme, host, path, query, key headers/cookies), for purge and debugging. */
  readonly key: string
  readonly status: number
  /** Stored header fields: no hop-by-hop fields, no Age, no Content-Length (delivery sets it). */
  readonly headers: HeaderPairs
  readonly body: Buffer
  /** When the request that produced this response was sent, and when its head arrived (ms, RFC 9111 §4.2.3). */
  readonly requestTime: number
  readonly responseTime: number
  /** corrected_initial_age of RFC 9111 §4.2.3, in ms. */
  readonly initialAgeMs: number
  /** The entry is fresh while now < staleAt. */
  readonly staleAt: number
  /** Stale may be served while a refresh runs until this time (stale-while-revalidate). */
  readonly swrUntil: number
  /** Stale may be served when the origin fails until this time (stale-if-error). */
  readonly sieUntil: number
  /** The store drops the entry at this time. */
  readonly expiresAt: number
  readonly etag: string | undefined
  readonly lastModified: string | undefined
  /** Response `no-cache`: stored, but validated with the origin before every use (served stale only on errors, by an explicit stale-if-error). */
  readonly noCache: boolean
  /** must-revalidate / proxy-revalidate / s-maxage: never served stale, not even with max-stale or on errors. */
  readonly noStale: boolean
  /** Sorted, lowercased Vary field names ([] when the response does not vary). */
  readonly vary: readonly string[]
  /** The varySignature of the request this variant was stored for ('' when `vary` is empty). */
  readonly varySignature: string
  /** The route key selector (key headers and cookies) of that request ('' when the route names none). */
  readonly selector: string
  /** Purge tags from the response's tag fields (purge.tagHeaders); absent in records stored without any. */
  readonly tags?: readonly string[]
  /** Bytes this entry costs in memory (body + headers), for the LRU budget. */
  readonly size: number
}

/**
 * Stored under the primary id of a URI whose responses vary (by Vary, or by the headers and
 * cookies the route adds to the key): which request fields select the variant, and the
 * generation the variants' ids are made with (see `variantId`).
 */
export interface VaryIndex {
  readonly kind: 'vary'
  readonly version: string
  readonly vary: readonly string[]
  readonly generation: string
  readonly expiresAt: number
  /**
   * Ids of the variants stored under this generation, newest first and bounded: the siblings a
   * 304 refreshes along with the variant it answered (RFC 9111 §4.3.4). Best effort: a variant
   * missing here is only revalidated on its own, later.
   */
  readonly variants: readonly string[]
  /**
   * When the URI was last soft-purged: a variant fetched before then is stale from then on, whether
   * or not the purge found it through `variants` (bounded, and in a fleet two instances storing
   * variants at once may each leave the other's out). Absent until a soft purge.
   */
  readonly softenedAt?: number
}

export type CacheRecord = CacheEntry | VaryIndex

export interface StoreWrite {
  readonly id: string
  readonly record: CacheRecord
}

/**
 * The right to fill one flight, held by its leader (src/coalesce). A store that keeps the lock
 * itself (redis) writes a leader's records only while the lease is still its own, releases the
 * lock and wakes the waiters in the same step, and then marks the lease released. Other stores
 * ignore it.
 */
export interface Lease {
  /** Which lock: the flight's id (src/store/ids.ts lockId). */
  readonly lockId: string
  /** The owner's random token. */
  readonly token: string
  /** Who issued it: a store writes under a lease of its own kind only. */
  readonly issuer: string
  /** 'released' once the lock is let go (by a fill or by the leader); 'lost' when it turned out to be someone else's. */
  state: 'held' | 'released' | 'lost'
}

/**
 * 'superseded': the lease was no longer its holder's; nothing was written. 'purged': an entry was
 * fetched before a purge that names it, and was left out (src/store/memory.ts sincePurges).
 */
export type WriteResult = 'stored' | 'superseded' | 'purged'

export interface StoreStats {
  readonly entries: number
  readonly bytes: number
  /** Per tier, when the store has several (tiered: l1, l2). */
  readonly tiers?: Readonly<Record<string, { readonly entries: number; readonly bytes: number }>>
}

export interface CacheStore {
  readonly name: string
  /**
   * The record stored under `id`, or undefined. Adapters that hold records in this process answer
   * without a promise (the hit path depends on it); others, or a tier below, with one.
   */
  lookup(id: string): CacheRecord | undefined | Promise<CacheRecord | undefined>
  /**
   * Read what the shared tier holds now, skipping copies kept in this process: a follower woken
   * because another fleet member stored the record. Stores without a shared tier read as lookup.
   */
  reload(id: string): Promise<CacheRecord | undefined>
  /** Store records together (an entry and its vary index), each until its expiresAt. */
  write(writes: readonly StoreWrite[], lease?: Lease): Promise<WriteResult>
  delete(id: string): Promise<boolean>
  /**
   * Remove (or, soft, mark stale) every record the order names, in this store and in every copy
   * the store keeps coherent (other workers' memory, the fleet's L1s). Resolves with the number of
   * entries affected; rejects with PurgeIncomplete when only part of it could be reached.
   */
  purge(order: PurgeOrder): Promise<number>
  stats(): Promise<StoreStats>
  close(): Promise<void>
}
