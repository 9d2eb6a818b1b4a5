/**
 * lookup: find the stored entry for a key, following a vary index to the variant that matches
 * this request. A failing store is a miss, never an error.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { varySignature } from '../policy/vary.js'
import type { CacheEntry, CacheStore } from '../store/types.js'
import type { CacheKey } from './key.js'
import { variantId } from './key.js'

export interface Lookup {
  readonly entry: CacheEntry | undefined
  /** The key is stored, but not the variant this request selects (Cache-Status fwd=vary-miss). */
  readonly varyMiss: boolean
  readonly storeError: unknown
}

const MISS: Lookup = Object.freeze({ entry: undefined, varyMiss: false, storeError: undefined })

export async function lookup(store: CacheStore, key: CacheKey, reqHeaders: IncomingHttpHeaders): Promise<Lookup> {
  try {
    const record = await store.get(key.id)
    if (record === undefined) return MISS
    if (record.kind === 'entry') return { entry: record, varyMiss: false, storeError: undefined }
    const variant = await store.get(variantId(key.id, varySignature(record.vary, reqHeaders)))
    if (variant?.kind === 'entry') return { entry: variant, varyMiss: false, storeError: undefined }
    return { entry: undefined, varyMiss: true, storeError: undefined }
  } catch (err) {
    return { entry: undefined, varyMiss: false, storeError: err }
  }
}
