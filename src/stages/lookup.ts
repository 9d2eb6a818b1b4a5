/**
 * lookup: find the stored entry for a key, following a vary index to the variant that matches
 * this request. A failing store is a miss, never an error.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { varySignature } from '../policy/vary.js'
import type { CacheEntry, CacheRecord, CacheStore, VaryIndex } from '../store/types.js'
import type { CacheKey } from './key.js'
import { variantId } from './key.js'

export interface Lookup {
  readonly entry: CacheEntry | undefined
  /** The vary index of the URI, when its responses vary; storing a new variant keeps its generation. */
  readonly index: VaryIndex | undefined
  /** The key is stored, but not the variant this request selects (Cache-Status fwd=vary-miss). */
  readonly varyMiss: boolean
  readonly storeError: unknown
}

const MISS: Lookup = Object.freeze({ entry: undefined, index: undefined, varyMiss: false, storeError: undefined })

/** Look up without a promise when the store can (memory), else with one. */
export function lookup(store: CacheStore, key: CacheKey, reqHeaders: IncomingHttpHeaders): Lookup | Promise<Lookup> {
  if (store.getSync === undefined) return lookupAsync(store, key, reqHeaders)
  try {
    const record = store.getSync(key.id)
    if (record?.kind !== 'vary') return primary(record, key)
    return variant(record, store.getSync(variantIdFor(record, key, reqHeaders)))
  } catch (err) {
    return { entry: undefined, index: undefined, varyMiss: false, storeError: err }
  }
}

async function lookupAsync(store: CacheStore, key: CacheKey, reqHeaders: IncomingHttpHeaders): Promise<Lookup> {
  try {
    const record = await store.get(key.id)
    if (record?.kind !== 'vary') return primary(record, key)
    return variant(record, await store.get(variantIdFor(record, key, reqHeaders)))
  } catch (err) {
    return { entry: undefined, index: undefined, varyMiss: false, storeError: err }
  }
}

function primary(record: CacheEntry | undefined, key: CacheKey): Lookup {
  if (record === undefined || record.selector !== key.selector) return MISS
  return { entry: record, index: undefined, varyMiss: false, storeError: undefined }
}

function variantIdFor(index: VaryIndex, key: CacheKey, reqHeaders: IncomingHttpHeaders): string {
  const signature = index.vary.length === 0 ? '' : varySignature(index.vary, reqHeaders)
  return variantId(key.id, index.generation, key.selector, signature)
}

function variant(index: VaryIndex, record: CacheRecord | undefined): Lookup {
  if (record?.kind === 'entry') return { entry: record, index, varyMiss: false, storeError: undefined }
  return { entry: undefined, index, varyMiss: true, storeError: undefined }
}
