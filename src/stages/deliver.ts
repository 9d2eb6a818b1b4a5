/**
 * deliver: write a stored entry to the client. Age is computed now; X-Cache-Status and the
 * RFC 9211 Cache-Status say what happened; client conditionals are answered with 304 or 412
 * from the entry; HEAD gets the headers without the body. This is the hit path: keep it lean.
 */
import { evaluatePreconditions } from '../policy/conditional.js'
import { currentAgeMs } from '../policy/freshness.js'
import { contentRange, multipartBody, multipartContentType, planRange, randomBoundary, unsatisfiedRange } from '../policy/range.js'
import type { RequestContext } from '../context.js'
import { noteStaleServed } from '../counters.js'
import type { Fill } from '../coalesce/fill.js'
import type { CacheStatus, Reason } from '../status.js'
import type { CacheEntry } from '../store/types.js'

/** What Cache-Status reports beyond the X-Cache-Status value (RFC 9211 §2). */
export interface Forwarded {
  /** fwd= parameter: why the request went forward. */
  readonly fwd?: 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'bypass' | 'method'
  readonly fwdStatus?: number
  readonly stored?: boolean
  readonly collapsed?: boolean
  readonly detail?: string
}

export const CACHE_NAME = 'corral'

interface Flat {
  readonly fields: string[]
  readonly upstreamCacheStatus: string | undefined
  readonly clientCacheControl: string | undefined
  /**
   * The header section of a plain HIT (no fields of the client's own, nothing forwarded), made for
   * the whole second of Age it holds: within that second every HIT of this entry sends exactly
   * these fields, so they are built once a second rather than once a request. Node reads the
   * array given to writeHead and keeps nothing of it; nothing here changes it once made.
   */
  hit: HitHead | undefined
}

interface HitHead {
  readonly ageS: number
  /** fields, then age, x-cache-status, cache-status. */
  readonly headers: readonly string[]
  /** headers, then content-length (none for a 204). */
  readonly full: readonly string[]
  readonly cacheStatus: string
}

/** Stored headers flattened once per entry for writeHead; entries are immutable. */
const flatHeaders = new WeakMap<CacheEntry, Flat>()

/** With the route's `clientCacheControl`, clients get it in place of the origin's Cache-Control and Expires. */
function flatten(entry: CacheEntry, clientCacheControl: string | undefined): Flat {
  let flat = flatHeaders.get(entry)
  if (flat !== undefined && flat.clientCacheControl === clientCacheControl) return flat
  const fields: string[] = []
  let upstreamCacheStatus: string | undefined
  for (const [name, value] of entry.headers) {
    if (name === 'cache-status') upstreamCacheStatus = upstreamCacheStatus === undefined ? value : `${upstreamCacheStatus}, ${value}`
    else if (clientCacheControl === undefined || (name !== 'cache-control' && name !== 'expires')) fields.push(name, value)
  }
  if (clientCacheControl !== undefined) fields.push('cache-control', clientCacheControl)
  flat = { fields, upstreamCacheStatus, clientCacheControl, hit: undefined }
  flatHeaders.set(entry, flat)
  return flat
}

/** `own`: fields for this client only, never stored (the Set-Cookie of a response stored without it). */
export function deliver(ctx: RequestContext, entry: CacheEntry, status: CacheStatus, fwd?: Forwarded, own?: readonly string[]): void {
  ctx.cacheStatus = status
  if (status === 'STALE' || status === 'UPDATING') noteStaleServed(ctx, fwd?.detail)
  const now = Date.now()
  const { req, res } = ctx
  // Fields for the requester alone (private="…", a stripped Set-Cookie), or an answer that was not
  // stored after all: the origin's own Cache-Control goes with it, not the route's.
  const clientCacheControl = own === undefined && fwd?.stored !== false ? ctx.route?.cache?.clientCacheControl : undefined
  const flat = flatten(entry, clientCacheControl)
  const ageS = Math.floor(currentAgeMs(entry.initialAgeMs, entry.responseTime, now) / 1000)
  const h = req.headers
  if (status === 'HIT' && fwd === undefined && own === undefined) {
    let hit = flat.hit
    if (hit === undefined || hit.ageS !== ageS) hit = flat.hit = hitHead(entry, flat, ageS)
    if (
      h['if-none-match'] === undefined &&
      h['if-modified-since'] === undefined &&
      h['if-match'] === undefined &&
      h['if-unmodified-since'] === undefined &&
      (h.range === undefined || ctx.method !== 'GET' || entry.status !== 200)
    ) {
      // The common HIT: no conditionals, no range.
      res.writeHead(entry.status, hit.full as string[])
      if (ctx.method === 'HEAD' || entry.status === 204) res.end()
      else res.end(entry.body)
      return
    }
    answer(ctx, entry, status, hit.headers.slice(), hit.cacheStatus)
    return
  }
  const cacheStatus = cacheStatusMember(status, remainingTtlS(entry, ageS), fwd)
  const headers = flat.fields.slice()
  if (own !== undefined) headers.push(...own)
  pushStatusFields(headers, ageS, status, flat.upstreamCacheStatus, cacheStatus)
  answer(ctx, entry, status, headers, cacheStatus)
}

function pushStatusFields(headers: string[], ageS: number, status: CacheStatus, upstreamCacheStatus: string | undefined, cacheStatus: string): void {
  headers.push(
    'age',
    String(ageS),
    'x-cache-status',
    status,
    'cache-status',
    upstreamCacheStatus === undefined ? cacheStatus : `${upstreamCacheStatus}, ${cacheStatus}`,
  )
}

/**
 * What every plain HIT of `entry` sends before its Age, X-Cache-Status and Cache-Status: the stored
 * fields (the route's clientCacheControl applied) and the origin's own Cache-Status, which ours
 * follows. The same object for as long as the entry and the route's clientCacheControl are: for
 * hit-fast.ts, which writes a plain HIT the way deliver() would.
 */
export function hitFields(ctx: RequestContext, entry: CacheEntry): { readonly fields: readonly string[]; readonly upstreamCacheStatus: string | undefined } {
  return flatten(entry, ctx.route?.cache?.clientCacheControl)
}

function hitHead(entry: CacheEntry, flat: Flat, ageS: number): HitHead {
  const cacheStatus = cacheStatusMember('HIT', remainingTtlS(entry, ageS), undefined)
  const headers = flat.fields.slice()
  pushStatusFields(headers, ageS, 'HIT', flat.upstreamCacheStatus, cacheStatus)
  const full = headers.slice()
  if (entry.status !== 204) full.push('content-length', String(entry.body.length))
  return { ageS, headers, full, cacheStatus }
}

/** The rest of deliver: client conditionals, ranges, then the stored response. `headers` is this response's own copy. */
function answer(ctx: RequestContext, entry: CacheEntry, status: CacheStatus, headers: string[], cacheStatus: string): void {
  const { req, res } = ctx
  const h = req.headers
  if (answeredByPreconditions(ctx, entry, status, headers, cacheStatus)) return

  // RFC 9110 §14.2: GET is the only method with range handling; a HEAD gets the full header section.
  // Ranges are cut from a stored 200 only; any other status is sent whole (RFC 9110 §14.2).
  if (h.range !== undefined && ctx.method === 'GET' && entry.status === 200) {
    deliverRange(ctx, entry, headers, cacheStatus)
    return
  }
  // RFC 9110 §8.6: no Content-Length (and no content) in a 204.
  if (entry.status !== 204) headers.push('content-length', String(entry.body.length))
  res.writeHead(entry.status, headers)
  if (ctx.method === 'HEAD' || entry.status === 204) res.end()
  else res.end(entry.body)
}

/**
 * A response whose body is still arriving from the origin (a fill): the head now, written from the
 * entry it will be stored as, then the body as it comes. Client conditionals are answered from the
 * head alone; a request with a Range waits for the whole entry instead (src/stages/fetch).
 * Resolves when the response is finished; false when the fill could not be joined (its start is
 * gone: too large to keep), and nothing was written.
 */
export function deliverFill(
  ctx: RequestContext,
  fill: Fill,
  status: CacheStatus,
  fwd: Forwarded,
  own?: readonly string[],
  paced = false,
): Promise<boolean> {
  const entry = fill.head
  if (!fill.joinable && !paced) return Promise.resolve(false)
  ctx.cacheStatus = status
  const { res } = ctx
  const flat = flatten(entry, own === undefined ? ctx.route?.cache?.clientCacheControl : undefined)
  const ageS = Math.floor(currentAgeMs(entry.initialAgeMs, entry.responseTime, Date.now()) / 1000)
  const cacheStatus = cacheStatusMember(status, remainingTtlS(entry, ageS), fwd)
  const headers = flat.fields.slice()
  if (own !== undefined) headers.push(...own)
  pushStatusFields(headers, ageS, status, flat.upstreamCacheStatus, cacheStatus)
  if (res.destroyed) return Promise.resolve(true)
  if (answeredByPreconditions(ctx, entry, status, headers, cacheStatus)) return Promise.resolve(true)
  if (fill.length !== undefined && entry.status !== 204) headers.push('content-length', String(fill.length))
  res.writeHead(entry.status, headers)
  if (ctx.method === 'HEAD' || entry.status === 204) {
    res.end()
    return Promise.resolve(true)
  }
  return fill.readInto(res, paced)
}

/** Client conditionals answered from the entry (304 or 412): true when they were. */
function answeredByPreconditions(ctx: RequestContext, entry: CacheEntry, status: CacheStatus, headers: string[], cacheStatus: string): boolean {
  const { req, res } = ctx
  const h = req.headers
  if (
    h['if-none-match'] !== undefined ||
    h['if-modified-since'] !== undefined ||
    h['if-match'] !== undefined ||
    h['if-unmodified-since'] !== undefined
  ) {
    // Without Last-Modified, If-Modified-Since is compared with the stored Date (RFC 9111 §4.3.2).
    const verdict = evaluatePreconditions(h, { ...entry, date: storedField(entry, 'date') }, ctx.method)
    if (verdict === 'not-modified') {
      res.writeHead(304, notModifiedHeaders(headers))
      res.end()
      return true
    }
    if (verdict === 'precondition-failed') {
      res.writeHead(412, ['content-length', '0', 'x-cache-status', status, 'cache-status', cacheStatus])
      res.end()
      return true
    }
  }
  return false
}

/** RFC 9110 §14: a Range request served from the stored full response. */
function deliverRange(ctx: RequestContext, entry: CacheEntry, headers: string[], cacheStatus: string): void {
  const { res } = ctx
  const length = entry.body.length
  const plan = planRange(
    ctx.req.headers,
    { status: entry.status, length, etag: entry.etag, lastModified: entry.lastModified, date: storedField(entry, 'date') },
    ctx.method,
  )
  let status = entry.status
  let body = entry.body
  switch (plan.kind) {
    case 'full':
      break
    case 'unsatisfiable':
      res.writeHead(416, [
        'content-range',
        unsatisfiedRange(length),
        'content-length',
        '0',
        'x-cache-status',
        ctx.cacheStatus ?? 'HIT',
        'cache-status',
        cacheStatus,
      ])
      res.end()
      return
    case 'single':
      status = 206
      body = entry.body.subarray(plan.start, plan.end + 1)
      headers.push('content-range', contentRange(plan.start, plan.end, length))
      break
    case 'multi': {
      status = 206
      const boundary = randomBoundary()
      body = multipartBody(plan.ranges, entry.body, storedField(entry, 'content-type'), length, boundary)
      replaceField(headers, 'content-type', multipartContentType(boundary))
      break
    }
  }
  if (status === 206) headers.push('accept-ranges', 'bytes')
  headers.push('content-length', String(body.length))
  res.writeHead(status, headers)
  res.end(body)
}

function storedField(entry: CacheEntry, name: string): string | undefined {
  for (const [field, value] of entry.headers) if (field === name) return value
  return undefined
}

function replaceField(flat: string[], name: string, value: string): void {
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i] === name) {
      flat.splice(i, 2)
      i -= 2
    }
  }
  flat.push(name, value)
}

// RFC 9110 §15.4.5: a 304 carries the fields a 200 would have had that describe caching and the
// representation's identity, and no content fields.
const NOT_MODIFIED_FIELDS = new Set([
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
  'age',
  'x-cache-status',
  'cache-status',
])

function notModifiedHeaders(flat: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string
    if (NOT_MODIFIED_FIELDS.has(name)) out.push(name, flat[i + 1] as string)
  }
  return out
}

/**
 * RFC 9211 `ttl`: the freshness lifetime minus the current age, both in the whole seconds that
 * clients see (max-age, Age), so that ttl + Age is the lifetime. Flooring the milliseconds left
 * instead would say ttl=4 for a fresh max-age=5 entry whose Age is 0, once a millisecond passed.
 */
function remainingTtlS(entry: CacheEntry, ageS: number): number {
  return lifetimeS(entry) - ageS
}

/** The entry's freshness lifetime in whole seconds: Cache-Status ttl is this less the Age. */
export function lifetimeS(entry: CacheEntry): number {
  return Math.floor((entry.staleAt - entry.responseTime + entry.initialAgeMs) / 1000)
}

/** One RFC 9211 list member for this cache. `ttlS`: remaining freshness of what was served (negative when stale). */
export function cacheStatusMember(status: CacheStatus, ttlS: number | undefined, fwd?: Forwarded): string {
  let member = CACHE_NAME
  if (status === 'HIT' || status === 'STALE' || status === 'UPDATING') {
    if (fwd?.fwd === undefined) member += '; hit'
  }
  if (fwd?.fwd !== undefined) member += `; fwd=${fwd.fwd}`
  if (fwd?.fwdStatus !== undefined) member += `; fwd-status=${fwd.fwdStatus}`
  if (ttlS !== undefined) member += `; ttl=${ttlS}`
  if (fwd?.stored === true) member += '; stored'
  if (fwd?.collapsed === true) member += '; collapsed'
  if (fwd?.detail !== undefined) member += `; detail=${fwd.detail}`
  return member
}

/** Cache-Status `detail` token for a reason: lowercase, dashes (RFC 9211 §2.8). */
export function reasonDetail(reason: Reason): string {
  return reason.toLowerCase().replace(/_/g, '-')
}
