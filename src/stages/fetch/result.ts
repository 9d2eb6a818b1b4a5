/**
 * What a leader's fetch produced, and the pieces of it that the leader and the 304 path share:
 * storing under the flight's lease, the fields meant for the requester alone, the Cache-Status
 * `fwd` of a planned fetch.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Fill } from '../../coalesce/fill.js'
import type { SharedError } from '../../coalesce/types.js'
import type { GatewayError } from '../../errors.js'
import type { OriginResponse } from '../../origin/client.js'
import { connectionOptions, HOP_BY_HOP, qualifiedNames } from '../../policy/headers.js'
import type { ResponseDirectives } from '../../policy/types.js'
import type { Runtime } from '../../runtime.js'
import type { CacheStatus, Reason } from '../../status.js'
import type { CacheEntry, VaryIndex } from '../../store/types.js'
import type { Forwarded } from '../deliver.js'
import { storeEntry } from '../store.js'
import type { FetchInput } from './origin-request.js'

export type FetchResult =
  | {
      readonly kind: 'entry'
      readonly entry: CacheEntry
      readonly cacheStatus: CacheStatus
      readonly fwdStatus: number
      readonly stored: boolean
      /** Why it was not stored. */
      readonly reason?: Reason
      /** Fields of the origin's response meant for the requester alone (Set-Cookie under `setCookie: strip`). */
      readonly own?: readonly string[]
      /** false: for the requester only; followers fetch their own (the response may no longer be shared). */
      readonly shareable?: boolean
    }
  | SharedError
  | { readonly kind: 'stream'; readonly response: OriginResponse; readonly prefix: Buffer[]; readonly reason: Reason }
  /**
   * A storable response whose body is streamed to the flight's clients as it arrives, and stored
   * once whole (src/coalesce/fill.ts). Nothing is read until `start()`: the leader's client is
   * the first reader. `settled`: what came of it — the entry (stored or not), too large, or a
   * broken body — as soon as that is known.
   */
  | {
      readonly kind: 'fill'
      readonly fill: Fill
      readonly cacheStatus: CacheStatus
      readonly fwdStatus: number
      readonly own?: readonly string[]
      readonly start: () => void
      readonly settled: Promise<FetchResult>
    }
  | { readonly kind: 'error'; readonly error: GatewayError }

export interface FetchPlan {
  readonly stale: CacheEntry | undefined
  /** Send the stale entry's validators (If-None-Match / If-Modified-Since). */
  readonly revalidate: boolean
  /** The request's own directives forced the trip (Cache-Status fwd=request). */
  readonly byRequest: boolean
  readonly varyMiss: boolean
  /** The URI's vary index from the lookup, if any. */
  readonly index: VaryIndex | undefined
}

/** Store under the input's lease, if any. Undefined when stored, else why not. Never throws. */
export async function safeStore(rt: Runtime, input: FetchInput, entry: CacheEntry): Promise<Reason | undefined> {
  try {
    const written = await storeEntry(rt.store, input.key, entry, input.index, input.lease)
    return written === 'stored' ? undefined : written === 'purged' ? 'PURGED' : 'LOCK_LOST'
  } catch (err) {
    rt.log.storeFailed(err, { keyId: input.key.id })
    return 'STORAGE_ERROR'
  }
}

/**
 * The origin's fields that the stored entry leaves out on purpose, named by their sources: those
 * a qualified `private="…"` / `no-cache="…"` lists, and Set-Cookie when it is not stored (under
 * `setCookie: strip`, or in a 304). They belong to the requester, who gets them; followers and
 * later hits do not. Fields left out for other reasons (hop-by-hop, Connection options, an
 * upstream X-Cache-Status) are not anyone's.
 */
export function ownFields(headers: IncomingHttpHeaders, d: ResponseDirectives, setCookie: boolean): readonly string[] | undefined {
  const named = qualifiedNames(d)
  if (named === undefined && !setCookie) return undefined
  const listed = connectionOptions(headers)
  let own: string[] | undefined
  const add = (name: string): void => {
    const value = headers[name]
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name) === true || NOT_OWN.has(name)) return
    own ??= []
    for (const v of Array.isArray(value) ? value : [value]) own.push(name, v)
  }
  if (named !== undefined) for (const name of named) add(name)
  if (setCookie && named?.has('set-cookie') !== true) add('set-cookie')
  return own
}

const NOT_OWN: ReadonlySet<string> = new Set(['content-length', 'age', 'date', 'cache-status', 'x-cache-status'])

export function forwarded(plan: FetchPlan): Forwarded {
  if (plan.byRequest) return { fwd: 'request' }
  if (plan.stale !== undefined) return { fwd: 'stale' }
  return { fwd: plan.varyMiss ? 'vary-miss' : 'uri-miss' }
}

