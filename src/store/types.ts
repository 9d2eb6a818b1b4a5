/**
 * The store port. Adapters (memory now; redis and tiered later) keep records by id and
 * drop them at `expiresAt`; every freshness decision is made by the policy from the
 * absolute times an entry carries, so an entry moved between tiers keeps its remaining life.
 */
import type { HeaderPairs } from '../policy/types.js'

/** A stored response: one variant of one cache key. */
export interface CacheEntry {
  readonly kind: 'entry'
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
  readonly vary: readonly string[]
  readonly generation: string
  readonly expiresAt: number
  /**
   * Ids of the variants stored under this generation, newest first and bounded: the siblings a
   * 304 refreshes along with the variant it answered (RFC 9111 §4.3.4). Best effort: a variant
   * missing here is only revalidated on its own, later.
   */
  readonly variants: readonly string[]
}

export type CacheRecord = CacheEntry | VaryIndex

export interface StoreStats {
  readonly entries: number
  readonly bytes: number
}

export interface CacheStore {
  readonly name: string
  get(id: string): Promise<CacheRecord | undefined>
  /** Adapters that hold records in this process answer without a promise (the hit path uses it). */
  getSync?(id: string): CacheRecord | undefined
  set(id: string, record: CacheRecord): Promise<void>
  delete(id: string): Promise<boolean>
  stats(): StoreStats
  close(): Promise<void>
}
