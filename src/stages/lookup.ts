/**
 * lookup: find the stored entry for a key, following a vary index to the variant that matches
 * this request. A failing store is a miss, never an error.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { varySignature } from '../policy/vary.js'
import type { CacheEntry, CacheStore, VaryIndex } from '../store/types.js'
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

export async function lookup(store: CacheStore, key: CacheKey, reqHeaders: IncomingHttpHeaders): Promise<Lookup> {
  try {
    const record = await store.get(key.id)
    if (record === undefined) return MISS
    if (record.kind === 'entry') {
      if (record.selector !== key.selector) return MISS
      return { entry: record, index: undefined, varyMiss: false, storeError: undefined }
    }
    const signature = record.vary.length === 0 ? '' : varySignature(record.vary, reqHeaders)
    const variant = await store.get(variantId(key.id, record.generation, key.selector, signature))
    if (variant?.kind === 'entry') return { entry: variant, index: record, varyMiss: false, storeError: undefined }
    return { entry: undefined, index: record, varyMiss: true, storeError: undefined }
  } catch (err) {
    return { entry: undefined, index: undefined, varyMiss: false, storeError: err }
  }
}
