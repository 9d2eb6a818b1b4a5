/**
 * lookup: find the stored entry for a key, following a vary index to the variant that matches
 * this request. Without a promise when the store answers without one (a memory hit); a failing
 * store is a miss, never an error.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { varySignature } from '../policy/vary.js'
import { variantId } from '../store/ids.js'
import { underIndex } from '../store/purge.js'
import type { CacheEntry, CacheRecord, CacheStore, VaryIndex } from '../store/types.js'
import type { CacheKey } from './key.js'

export interface Lookup {
  readonly entry: CacheEntry | undefined
  /** The vary index of the URI, when its responses vary; storing a new variant keeps its generation. */
  readonly index: VaryIndex | undefined
  /** The key is stored, but not the variant this request selects (Cache-Status fwd=vary-miss). */
  readonly varyMiss: boolean
  readonly storeError: unknown
}

const MISS: Lookup = Object.freeze({ entry: undefined, index: undefined, varyMiss: false, storeError: undefined })

export function lookup(store: CacheStore, key: CacheKey, reqHeaders: IncomingHttpHeaders): Lookup | Promise<Lookup> {
  let found: CacheRecord | undefined | Promise<CacheRecord | undefined>
  try {
    found = store.lookup(key.id)
  } catch (err) {
    return failed(err)
  }
  if (found instanceof Promise) return found.then((record) => followIndex(store, key, reqHeaders, record), failed)
  return followIndex(store, key, reqHeaders, found)
}

/** The lookup of what a record under the primary id leads to: itself, or the variant its index selects. */
export function followIndex(
  store: CacheStore,
  key: CacheKey,
  reqHeaders: IncomingHttpHeaders,
  record: CacheRecord | undefined,
): Lookup | Promise<Lookup> {
  if (record?.kind !== 'vary') return primary(record, key)
  let found: CacheRecord | undefined | Promise<CacheRecord | undefined>
  try {
    found = store.lookup(variantIdFor(record, key, reqHeaders))
  } catch (err) {
    return failed(err)
  }
  if (found instanceof Promise) return found.then((v) => variant(record, v), failed)
  return variant(record, found)
}

function failed(err: unknown): Lookup {
  return { entry: undefined, index: undefined, varyMiss: false, storeError: err }
}

function primary(record: CacheEntry | undefined, key: CacheKey): Lookup {
  if (record === undefined || record.selector !== key.selector) return MISS
  return { entry: record, index: undefined, varyMiss: false, storeError: undefined }
}

export function variantIdFor(index: VaryIndex, key: CacheKey, reqHeaders: IncomingHttpHeaders): string {
  const signature = index.vary.length === 0 ? '' : varySignature(index.vary, reqHeaders)
  return variantId(key.id, index.generation, key.selector, signature)
}

function variant(index: VaryIndex, record: CacheRecord | undefined): Lookup {
  if (record?.kind === 'entry') return { entry: underIndex(index, record), index, varyMiss: false, storeError: undefined }
  return { entry: undefined, index, varyMiss: true, storeError: undefined }
}
