/**
 * store: turn an origin response into an entry when, and only when, it may be stored; give it
 * its absolute times (fresh until, stale-while-revalidate until, stale-if-error until, drop at)
 * and write it, with a vary index when the response varies.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { RouteCache } from '../config/types.js'
import { parseResponseCacheControl } from '../policy/cache-control.js'
import { correctedInitialAgeMs, freshnessFor, staleWindowsMs } from '../policy/freshness.js'
import { mergeRevalidated, toStoredHeaders, withoutQualified } from '../policy/headers.js'
import { whyNotStorable } from '../policy/storable.js'
import { targetedDirectives } from '../policy/targeted.js'
import type { HeaderPairs, RequestDirectives, ResponseDirectives } from '../policy/types.js'
import { parseVary, varySignature } from '../policy/vary.js'
import { headerValue } from '../http.js'
import type { Reason } from '../status.js'
import { newGeneration, newVersion, variantId } from '../store/ids.js'
import { entryBytes, ownBody } from '../store/memory.js'
import type { CacheEntry, CacheStore, Lease, StoreWrite, VaryIndex, WriteResult } from '../store/types.js'
import { NO_DIRECTIVES } from './decide.js'
import type { CacheKey } from './key.js'

export interface ResponseHead {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly requestTime: number
  readonly responseTime: number
}

/** A response judged storable, waiting for its body. */
export interface Storable {
  readonly directives: ResponseDirectives
  readonly lifetimeMs: number
  readonly vary: readonly string[]
}

export function judge(
  head: ResponseHead,
  reqHeaders: IncomingHttpHeaders,
  reqDirectives: RequestDirectives,
  route: RouteCache,
): { storable: Storable } | { reason: Reason } {
  const targeted = targetedDirectives(head.headers, route.targetedFields)
  const directives = parseResponseCacheControl(targeted ?? head.headers['cache-control'])
  // RFC 9213 §2.2: a targeted field replaces Cache-Control and Expires for the caches it targets.
  const freshnessHeaders = targeted === undefined ? head.headers : { ...head.headers, expires: undefined }
  const freshness = freshnessFor(head.status, directives, freshnessHeaders, route, head.responseTime)
  const reason = whyNotStorable({
    method: 'GET',
    reqHeaders,
    reqDirectives,
    status: head.status,
    resHeaders: head.headers,
    directives,
    route,
    freshness,
  })
  if (reason !== undefined) return { reason }
  const vary = parseVary(head.headers)
  if (vary === '*') return { reason: 'VARY_STAR' }
  return { storable: { directives, lifetimeMs: freshness?.lifetimeMs ?? 0, vary } }
}

export function buildEntry(
  key: CacheKey,
  head: ResponseHead,
  storable: Storable,
  body: Buffer,
  reqHeaders: IncomingHttpHeaders,
  route: RouteCache,
  storedHeaders: HeaderPairs = toStoredHeaders(head.headers, storable.directives),
  tagsBefore: readonly string[] | undefined = undefined,
): CacheEntry {
  const d = storable.directives
  const initialAgeMs = correctedInitialAgeMs({
    requestTime: head.requestTime,
    responseTime: head.responseTime,
    date: headerValue(head.headers.date),
    age: headerValue(head.headers.age),
  })
  // Jitter only ever shortens freshness: the origin's lifetime is a maximum, not a target.
  const lifetimeMs = route.jitter > 0 ? storable.lifetimeMs * (1 - Math.random() * route.jitter) : storable.lifetimeMs
  const staleAt = head.responseTime + lifetimeMs - initialAgeMs
  const { swrMs, sieMs } = staleWindowsMs(d, route)
  const etag = headerValue(head.headers.etag)
  const lastModified = headerValue(head.headers['last-modified'])
  const swrUntil = staleAt + swrMs
  const sieUntil = staleAt + sieMs
  // Kept past staleness (nginx's `inactive`) to be revalidated, to answer errors with
  // request stale-if-error, and to tell EXPIRED from MISS.
  const retainUntil = staleAt + route.retainStaleMs
  const tagged = readTags(storedHeaders, route.tags.headers)
  // A 304 need not repeat the tag fields (and stripped ones are not in the stored headers): keep the entry's tags.
  const tags = tagged.length > 0 ? tagged : tagsBefore
  const stripTags = !route.tags.expose && route.tags.headers.length > 0
  const headers = storedHeaders.filter(
    ([name]) => name !== 'content-length' && !(name === 'set-cookie' && route.setCookie === 'strip') && !(stripTags && route.tags.headers.includes(name)),
  )
  // RFC 9110 §6.6.1: a recipient with a clock that caches a response without Date adds one.
  if (!headers.some(([name]) => name === 'date')) headers.push(['date', new Date(head.responseTime).toUTCString()])
  // A body of its own, exactly sized: not a view that keeps a socket chunk or Node's shared pool alive.
  const own = ownBody(body)
  const version = newVersion()
  const signature = storable.vary.length > 0 ? varySignature(storable.vary, reqHeaders) : ''
  const size = entryBytes({ key: key.key, version, headers, body: own, etag, lastModified, vary: storable.vary, varySignature: signature, selector: key.selector, tags })
  return {
    kind: 'entry',
    version,
    key: key.key,
    status: head.status,
    headers,
    body: own,
    requestTime: head.requestTime,
    responseTime: head.responseTime,
    initialAgeMs,
    staleAt,
    swrUntil,
    sieUntil,
    expiresAt: Math.max(staleAt, swrUntil, sieUntil, retainUntil),
    etag,
    lastModified,
    noCache: d.noCache === true,
    noStale: d.mustRevalidate || d.proxyRevalidate || d.sMaxage !== undefined,
    vary: storable.vary,
    varySignature: signature,
    selector: key.selector,
    ...(tags === undefined || tags.length === 0 ? {} : { tags }),
    size,
  }
}

/** An entry built from the response head before its body arrived (a fill), with the body now whole. */
export function withBody(head: CacheEntry, body: Buffer): CacheEntry {
  const own = ownBody(body)
  return { ...head, body: own, size: entryBytes({ ...head, body: own }) }
}

/** Surrogate-Key: `a b c`; Cache-Tag: `a,b,c`: distinct, in the order first seen, at most MAX_TAGS. */
export function readTags(headers: HeaderPairs, names: readonly string[]): readonly string[] {
  if (names.length === 0) return []
  const tags = new Set<string>()
  for (const [name, value] of headers) {
    if (!names.includes(name)) continue
    for (const tag of value.split(/[\s,]+/)) if (tag !== '' && tags.size < MAX_TAGS) tags.add(tag)
  }
  return [...tags]
}

/** Fastly's limit is 16 KiB of keys; past a few hundred tags an entry is mislabelled, not tagged. */
const MAX_TAGS = 256

/**
 * RFC 9111 §4.3.4: a 304 refreshes the stored entry: its header fields are updated from the
 * 304 and its freshness is computed anew from the merged fields and the new response times.
 * `reason` when the merged response may no longer be stored at all (the entry must go);
 * `requestForbids` when only this request forbids storing (request no-store, Authorization): the
 * client gets the refreshed response and the stored entry stays as it was.
 */
export function refreshEntry(
  key: CacheKey,
  stale: CacheEntry,
  head: ResponseHead,
  reqHeaders: IncomingHttpHeaders,
  reqDirectives: RequestDirectives,
  route: RouteCache,
): { entry: CacheEntry; directives: ResponseDirectives; requestForbids: Reason | undefined } | { reason: Reason } {
  const merged = mergeRevalidated(stale.headers, head.headers)
  // RFC 9110 §6.6.1: without a Date of its own, the 304 is dated when it was received.
  if (head.headers.date === undefined) replaceField(merged, 'date', new Date(head.responseTime).toUTCString())
  const mergedHeaders = toHeaderMap(merged)
  // The 304's own Age counts (§4.2.3); Age is never stored, so it is not among the merged fields.
  const mergedHead: ResponseHead = { ...head, status: stale.status, headers: { ...mergedHeaders, age: head.headers.age } }
  const verdict = judge(mergedHead, NO_REQUEST_HEADERS, NO_DIRECTIVES, route)
  if ('reason' in verdict) return verdict
  // A targeted field's private="…" / no-cache="…" is only known after judging.
  const stored = withoutQualified(merged, verdict.storable.directives)
  const entry = buildEntry(key, mergedHead, verdict.storable, stale.body, reqHeaders, route, stored, stale.tags)
  const forRequest = judge(mergedHead, reqHeaders, reqDirectives, route)
  return { entry, directives: verdict.storable.directives, requestForbids: 'reason' in forRequest ? forRequest.reason : undefined }
}

const NO_REQUEST_HEADERS: IncomingHttpHeaders = Object.freeze({})

/** One `name` field with this value, where the first one was (or at the end). */
function replaceField(pairs: Array<[string, string]>, name: string, value: string): void {
  const at = pairs.findIndex(([n]) => n === name)
  for (let i = pairs.length - 1; i > at; i--) if (pairs[i]?.[0] === name) pairs.splice(i, 1)
  if (at === -1) pairs.push([name, value])
  else pairs[at] = [name, value]
}

function toHeaderMap(pairs: HeaderPairs): IncomingHttpHeaders {
  const map: Record<string, string | string[]> = {}
  for (const [name, value] of pairs) {
    const prev = map[name]
    if (prev === undefined) map[name] = value
    else if (Array.isArray(prev)) prev.push(value)
    else map[name] = [prev, value]
  }
  return map
}

/**
 * Write the entry, and the vary index when the URI's responses vary. A new variant keeps the
 * index's generation while the Vary fields stay the same, so that its siblings stay reachable.
 * Under a lease (a flight's leader), a store that keeps the lock writes only while the lease holds.
 */
export async function storeEntry(
  store: CacheStore,
  key: CacheKey,
  entry: CacheEntry,
  index: VaryIndex | undefined,
  lease?: Lease,
): Promise<WriteResult> {
  if (entry.expiresAt <= Date.now()) return 'stored'
  return store.write(entryWrites(key, entry, index), lease)
}

/** The records that storing `entry` writes: itself, or itself and its vary index. */
export function entryWrites(key: CacheKey, entry: CacheEntry, index: VaryIndex | undefined): StoreWrite[] {
  if (key.selector === '' && entry.vary.length === 0) return [{ id: key.id, record: entry }]
  const keep = index !== undefined && sameFields(index.vary, entry.vary)
  const generation = keep ? index.generation : newGeneration()
  const expiresAt = keep ? Math.max(index.expiresAt, entry.expiresAt) : entry.expiresAt
  const id = variantId(key.id, generation, key.selector, entry.varySignature)
  const variants = keep ? [id, ...index.variants.filter((v) => v !== id).slice(0, MAX_TRACKED_VARIANTS - 1)] : [id]
  const softenedAt = keep ? index.softenedAt : undefined
  const vary: VaryIndex = { kind: 'vary', version: newVersion(), vary: entry.vary, generation, expiresAt, variants, ...(softenedAt === undefined ? {} : { softenedAt }) }
  return [
    { id, record: entry },
    { id: key.id, record: vary },
  ]
}

/** How many variants of one URI a 304 can refresh at once; more are revalidated one by one. */
export const MAX_TRACKED_VARIANTS = 32

/**
 * RFC 9111 §4.3.4: a 304 with a strong ETag selects every stored response with that same strong
 * validator, not only the one it answered. `refreshed` is the variant the 304 answered, already
 * refreshed; its siblings under `index` (other Vary values of the same route-key selector) that
 * carry the same strong ETag get the same treatment. A weak or missing ETag selects only the one
 * variant.
 */
export async function refreshSiblings(
  store: CacheStore,
  key: CacheKey,
  index: VaryIndex,
  head: ResponseHead,
  refreshed: CacheEntry,
  route: RouteCache,
): Promise<number> {
  const etag = headerValue(head.headers.etag)?.trim()
  if (etag === undefined || etag.startsWith('W/') || etag.startsWith('w/') || refreshed.etag?.trim() !== etag) return 0
  const own = variantId(key.id, index.generation, key.selector, refreshed.varySignature)
  let count = 0
  for (const id of index.variants) {
    if (id === own) continue
    const sibling = await store.lookup(id)
    // Other route-key selectors (key headers and cookies) are other cache keys: never theirs to refresh.
    if (sibling?.kind !== 'entry' || sibling.selector !== key.selector || sibling.etag?.trim() !== etag) continue
    const result = refreshEntry(key, sibling, head, NO_REQUEST_HEADERS, NO_DIRECTIVES, route)
    if ('reason' in result || !sameFields(result.entry.vary, sibling.vary)) continue
    await store.write([{ id, record: { ...result.entry, varySignature: sibling.varySignature } }])
    count++
  }
  return count
}

function sameFields(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i])
}
