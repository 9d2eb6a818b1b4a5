/**
 * fetch: get the object from the origin once per key. The first request becomes the leader and
 * fetches (conditionally when it holds a stale entry with validators); the others follow and
 * receive the entry. A response that cannot be shared is never handed to followers: they fetch
 * on their own, and the key is marked hit-for-miss so that later requests do not queue behind it.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { Route, RouteCache } from '../config/types.js'
import type { RequestContext } from '../context.js'
import { GatewayError } from '../errors.js'
import { toGatewayError, type OriginResponse } from '../origin/client.js'
import { notModifiedMatches, revalidationHeaders } from '../policy/conditional.js'
import { parseResponseCacheControl } from '../policy/cache-control.js'
import { connectionOptions, HOP_BY_HOP, mergeRevalidated, qualifiedNames } from '../policy/headers.js'
import type { RequestDirectives, ResponseDirectives } from '../policy/types.js'
import { parseVary, varySignature } from '../policy/vary.js'
import { headerValue } from '../http.js'
import type { Runtime } from '../runtime.js'
import type { CacheStatus, Reason } from '../status.js'
import type { CacheEntry, VaryIndex } from '../store/types.js'
import { canServeStaleOnError, NO_DIRECTIVES } from './decide.js'
import { deliver, reasonDetail, type Forwarded } from './deliver.js'
import type { CacheKey } from './key.js'
import { discardBody, forwardInterim, respondBuffered, respondError, skipBody, streamToClient } from './respond.js'
import { buildEntry, judge, refreshEntry, refreshSiblings, storeEntry } from './store.js'

/** An origin 5xx read whole, not stored, but impersonal enough to answer the crowd that waited for it. */
interface SharedError {
  readonly kind: 'shared-error'
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  /** The Vary names and the route-key selector and Vary signature of the leader's request. */
  readonly vary: readonly string[]
  readonly selector: string
  readonly varySignature: string
}

/** What a leader tells its followers. */
export type FlightOutcome =
  | { readonly kind: 'entry'; readonly entry: CacheEntry; readonly cacheStatus: CacheStatus; readonly fwdStatus: number }
  | SharedError
  | { readonly kind: 'not-shareable'; readonly reason: Reason; readonly originStatus: number }
  | { readonly kind: 'error'; readonly error: GatewayError }

/** Largest error body a crowd shares; a larger one is streamed to the leader's client alone. */
const SHARED_ERROR_BYTES = 64 * 1024

type FetchResult =
  | {
      readonly kind: 'entry'
      readonly entry: CacheEntry
      readonly cacheStatus: CacheStatus
      readonly fwdStatus: number
      readonly stored: boolean
      /** Why it was not stored, when that was not a store failure. */
      readonly reason?: Reason
      /** Fields of the origin's response meant for the requester alone (Set-Cookie under `setCookie: strip`). */
      readonly own?: readonly string[]
      /** false: for the requester only; followers fetch their own (the response may no longer be shared). */
      readonly shareable?: boolean
    }
  | SharedError
  | { readonly kind: 'stream'; readonly response: OriginResponse; readonly prefix: Buffer[]; readonly reason: Reason }
  | { readonly kind: 'error'; readonly error: GatewayError }

/** Everything an origin fetch needs, captured from the request so that it can outlive the client. */
interface FetchInput {
  readonly route: Route
  readonly cache: RouteCache
  readonly key: CacheKey
  readonly reqHeaders: IncomingHttpHeaders
  readonly reqDirectives: RequestDirectives
  readonly url: string
  readonly originHeaders: Record<string, string | string[]>
  readonly stale: CacheEntry | undefined
  readonly revalidate: boolean
  readonly index: VaryIndex | undefined
  /** The key's last answer was too large to store (hit-for-miss): stream at once, buffer nothing. */
  readonly knownTooLarge?: boolean
}

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

/** Reasons that belong to the resource, not to this request: remember them (hit-for-miss). */
const RESOURCE_REASONS: ReadonlySet<Reason> = new Set<Reason>(['PRIVATE', 'NO_STORE', 'SET_COOKIE', 'TOO_LARGE', 'VARY_STAR', 'NO_FRESHNESS'])

export async function fetchForClient(rt: Runtime, ctx: RequestContext, key: CacheKey, plan: FetchPlan): Promise<void> {
  const input = fetchInput(ctx, key, plan.stale, plan.revalidate, plan.index)
  const marked = rt.hitForMiss.why(key.id, Date.now())
  if (marked !== undefined) {
    ctx.reason = 'HIT_FOR_MISS'
    return fetchAlone(rt, ctx, marked === 'TOO_LARGE' ? { ...input, knownTooLarge: true } : input, plan)
  }
  return fetchInFlight(rt, ctx, input, plan, flightId(key, plan.index?.vary ?? plan.stale?.vary, ctx.req.headers), true)
}

/**
 * The flight a request joins: the key's, until its responses are known to vary (by Vary or by
 * the route's key headers and cookies); then one per variant, so that a crowd asking for several
 * variants makes one origin request per variant.
 */
function flightId(key: CacheKey, vary: readonly string[] | undefined, reqHeaders: IncomingHttpHeaders): string {
  if (vary === undefined || (vary.length === 0 && key.selector === '')) return key.id
  return `${key.id}\n${key.selector}\n${vary.length === 0 ? '' : varySignature(vary, reqHeaders)}`
}

/** `mayRejoin`: a follower handed another variant joins (or leads) that variant's flight, once. */
async function fetchInFlight(rt: Runtime, ctx: RequestContext, input: FetchInput, plan: FetchPlan, id: string, mayRejoin: boolean): Promise<void> {
  const role = rt.flights.join(id)
  if (role.role === 'follower') {
    const waitStarted = performance.now()
    const outcome = await role.wait(rt.config.coalesce.waitTimeoutMs)
    ctx.lockWaitMs = (ctx.lockWaitMs ?? 0) + performance.now() - waitStarted
    if (outcome === 'timeout') {
      rt.log.coalesceTimeout({ keyId: input.key.id, waitedMs: Math.round(ctx.lockWaitMs) })
      return fetchAlone(rt, ctx, input, plan)
    }
    return follow(rt, ctx, input, plan, outcome, mayRejoin)
  }
  const result = await originFetch(rt, input, ctx)
  role.settle(outcomeOf(result))
  remember(rt, input, result)
  return respond(rt, ctx, input, plan, result)
}

async function fetchAlone(rt: Runtime, ctx: RequestContext, input: FetchInput, plan: FetchPlan): Promise<void> {
  const result = await originFetch(rt, input, ctx)
  remember(rt, input, result)
  return respond(rt, ctx, input, plan, result)
}

function follow(rt: Runtime, ctx: RequestContext, input: FetchInput, plan: FetchPlan, outcome: FlightOutcome, mayRejoin: boolean): Promise<void> {
  const stale = plan.stale
  const otherVariant = (vary: readonly string[]): Promise<void> =>
    mayRejoin ? fetchInFlight(rt, ctx, input, plan, flightId(input.key, vary, ctx.req.headers), false) : fetchAlone(rt, ctx, input, plan)
  switch (outcome.kind) {
    case 'entry':
      if (!variantMatches(outcome.entry, input.key, ctx.req.headers)) return otherVariant(outcome.entry.vary)
      deliver(ctx, outcome.entry, outcome.cacheStatus, { ...forwarded(plan), fwdStatus: outcome.fwdStatus, collapsed: true })
      return Promise.resolve()
    case 'shared-error': {
      const sameVariant =
        outcome.selector === input.key.selector && (outcome.vary.length === 0 || varySignature(outcome.vary, ctx.req.headers) === outcome.varySignature)
      if (!sameVariant) return otherVariant(outcome.vary)
      if (stale !== undefined && isErrorStatus(outcome.status) && canServeStaleOnError(stale, input.reqDirectives, Date.now())) {
        deliver(ctx, stale, 'STALE', { fwd: 'stale', fwdStatus: outcome.status, collapsed: true, detail: 'stale-if-error' })
        return Promise.resolve()
      }
      ctx.reason ??= 'STATUS'
      respondBuffered(ctx, outcome.status, outcome.headers, outcome.body, stale === undefined ? 'MISS' : 'EXPIRED', {
        ...forwarded(plan),
        fwdStatus: outcome.status,
        collapsed: true,
        detail: reasonDetail('STATUS'),
      })
      return Promise.resolve()
    }
    case 'not-shareable':
      if (isErrorStatus(outcome.originStatus) && stale !== undefined && canServeStaleOnError(stale, input.reqDirectives, Date.now())) {
        deliver(ctx, stale, 'STALE', { fwd: 'stale', fwdStatus: outcome.originStatus, collapsed: true, detail: 'stale-if-error' })
        return Promise.resolve()
      }
      return fetchAlone(rt, ctx, input, plan)
    case 'error':
      if (stale !== undefined && canServeStaleOnError(stale, input.reqDirectives, Date.now())) {
        deliver(ctx, stale, 'STALE', { fwd: 'stale', collapsed: true, detail: 'stale-if-error' })
      } else {
        respondError(ctx, outcome.error)
      }
      return Promise.resolve()
  }
}

/**
 * stale-while-revalidate: serve the stale entry now and refresh it in the background, once.
 * Requests that arrive while the refresh runs are UPDATING.
 */
export function serveStaleAndRefresh(
  rt: Runtime,
  ctx: RequestContext,
  key: CacheKey,
  entry: CacheEntry,
  index: VaryIndex | undefined,
): void {
  const role = rt.flights.join(flightId(key, index?.vary ?? entry.vary, ctx.req.headers))
  if (role.role === 'follower') {
    deliver(ctx, entry, 'UPDATING', { detail: 'stale-while-revalidate' })
    return
  }
  deliver(ctx, entry, 'STALE', { detail: 'stale-while-revalidate' })
  const input = fetchInput(ctx, key, entry, entry.etag !== undefined || entry.lastModified !== undefined, index)
  const job = originFetch(rt, input, undefined).then(
    (result) => {
      role.settle(outcomeOf(result))
      remember(rt, input, result)
      if (result.kind === 'stream') skipBody(result.response.body, result.response.headers)
      if (result.kind === 'error') rt.log.refreshFailed(result.error, { keyId: key.id })
    },
    (err: unknown) => {
      role.settle({ kind: 'error', error: internalError(err) })
      rt.log.refreshFailed(err, { keyId: key.id })
    },
  )
  rt.background.add(job)
  void job.finally(() => rt.background.delete(job))
}

function fetchInput(
  ctx: RequestContext,
  key: CacheKey,
  stale: CacheEntry | undefined,
  revalidate: boolean,
  index: VaryIndex | undefined,
): FetchInput {
  const route = ctx.route as Route
  return {
    route,
    cache: route.cache as RouteCache,
    key,
    reqHeaders: ctx.req.headers,
    reqDirectives: ctx.reqDirectives ?? NO_DIRECTIVES,
    url: ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`,
    originHeaders: originRequestHeaders(ctx),
    stale,
    revalidate: revalidate && stale !== undefined,
    index,
  }
}

/** Fetch from the origin and, when the response may be stored, read and store it. Never throws. */
async function originFetch(rt: Runtime, input: FetchInput, ctx: RequestContext | undefined): Promise<FetchResult> {
  const { route, cache, key, stale } = input
  const headers = input.revalidate && stale !== undefined ? { ...input.originHeaders, ...revalidationHeaders(stale) } : input.originHeaders
  const started = performance.now()
  let response: OriginResponse
  try {
    response = await rt.origins.request(route.upstream, {
      method: 'GET',
      path: input.url,
      headers,
      onInfo: ctx === undefined ? undefined : (status, fields) => forwardInterim(ctx.res, status, fields),
    })
  } catch (err) {
    return { kind: 'error', error: toGatewayError(err, route.upstream) }
  } finally {
    if (ctx !== undefined) ctx.originMs = performance.now() - started
  }
  try {
    if (response.status === 304 && input.revalidate && stale !== undefined) {
      response.body.resume()
      // A 304 for another representation may not refresh this one: ask again, unconditionally.
      if (!notModifiedMatches(stale, response.headers)) return await originFetch(rt, { ...input, revalidate: false }, ctx)
      const refreshed = refreshEntry(key, stale, response, input.reqHeaders, input.reqDirectives, cache)
      if ('reason' in refreshed) {
        // The origin's new word (no-store, private…) forbids keeping the entry. The requester still
        // gets the stored body with the 304's fields, its Set-Cookie included; nobody else does.
        await Promise.resolve()
          .then(() => rt.store.delete(key.id))
          .catch(() => false)
        const merged = mergeRevalidated(stale.headers, response.headers)
        const directives = parseResponseCacheControl(merged.filter(([name]) => name === 'cache-control').map(([, value]) => value))
        return {
          kind: 'entry',
          entry: { ...stale, headers: merged },
          cacheStatus: 'REVALIDATED',
          fwdStatus: 304,
          stored: false,
          reason: refreshed.reason,
          own: ownFields(response.headers, directives, true),
          shareable: false,
        }
      }
      if (refreshed.requestForbids !== undefined) {
        // Only this request may not store (request no-store, Authorization): it gets the refreshed
        // response, and the entry stays as it was for everyone else.
        return { kind: 'entry', entry: refreshed.entry, cacheStatus: 'REVALIDATED', fwdStatus: 304, stored: false, reason: refreshed.requestForbids }
      }
      const stored = await safeStore(rt, input, refreshed.entry)
      if (stored && input.index !== undefined) refreshVariants(rt, input, input.index, response, refreshed.entry)
      return { kind: 'entry', entry: refreshed.entry, cacheStatus: 'REVALIDATED', fwdStatus: 304, stored, own: ownFields(response.headers, refreshed.directives, true) }
    }
    const verdict = response.status === 304 ? { reason: 'STATUS' as const } : judge(response, input.reqHeaders, input.reqDirectives, cache)
    if ('reason' in verdict) {
      // Nothing but the status keeps this 5xx from being stored (no private, no-store, Set-Cookie,
      // Authorization…): the crowd that waited for it gets it too, instead of each asking again.
      if (verdict.reason === 'STATUS' && response.status >= 500 && impersonal(response.headers, cache.targetedFields)) {
        return await shareError(response, input)
      }
      return { kind: 'stream', response, prefix: [], reason: verdict.reason }
    }
    const declared = Number(response.headers['content-length'])
    // Without a Content-Length, a key known to be too large would otherwise be buffered up to
    // maxObjectSize by every request before it streams.
    if (declared > cache.maxObjectBytes || (input.knownTooLarge === true && Number.isNaN(declared))) {
      return { kind: 'stream', response, prefix: [], reason: 'TOO_LARGE' }
    }
    const read = await readUpTo(response.body, cache.maxObjectBytes)
    if (!read.complete) return { kind: 'stream', response, prefix: read.chunks, reason: 'TOO_LARGE' }
    const body = read.chunks.length === 1 ? (read.chunks[0] as Buffer) : Buffer.concat(read.chunks)
    const entry = buildEntry(key, response, verdict.storable, body, input.reqHeaders, cache)
    const stored = await safeStore(rt, input, entry)
    return {
      kind: 'entry',
      entry,
      cacheStatus: stale === undefined ? 'MISS' : 'EXPIRED',
      fwdStatus: response.status,
      stored,
      own: ownFields(response.headers, verdict.storable.directives, cache.setCookie === 'strip'),
    }
  } catch (err) {
    discardBody(response.body)
    return { kind: 'error', error: toGatewayError(err, route.upstream) }
  }
}

/**
 * Nothing in the response is meant for its requester alone: no Set-Cookie (which `setCookie:
 * strip` would let through), no field a qualified `no-cache="…"` / `private="…"` names.
 */
function impersonal(headers: IncomingHttpHeaders, targetedFields: readonly string[]): boolean {
  if (headers['set-cookie'] !== undefined) return false
  for (const name of ['cache-control', ...targetedFields]) {
    const value = headerValue(headers[name])
    if (value !== undefined && QUALIFIED.test(value)) return false
  }
  return true
}

const QUALIFIED = /(?:^|[\s,])(?:no-cache|private)\s*=/i

async function shareError(response: OriginResponse, input: FetchInput): Promise<FetchResult> {
  if (Number(response.headers['content-length']) > SHARED_ERROR_BYTES) return { kind: 'stream', response, prefix: [], reason: 'STATUS' }
  const read = await readUpTo(response.body, SHARED_ERROR_BYTES)
  if (!read.complete) return { kind: 'stream', response, prefix: read.chunks, reason: 'STATUS' }
  const vary = parseVary(response.headers)
  const names = vary === '*' ? [] : vary
  return {
    kind: 'shared-error',
    status: response.status,
    headers: response.headers,
    body: Buffer.concat(read.chunks),
    vary: names,
    selector: input.key.selector,
    varySignature: names.length === 0 ? '' : varySignature(names, input.reqHeaders),
  }
}

/** The siblings a 304 also selects are refreshed off the client's path, like a background refresh. */
function refreshVariants(rt: Runtime, input: FetchInput, index: VaryIndex, head: OriginResponse, refreshed: CacheEntry): void {
  const job = refreshSiblings(rt.store, input.key, index, head, refreshed, input.cache).then(
    () => undefined,
    (err: unknown) => rt.log.storeFailed(err, { keyId: input.key.id }),
  )
  rt.background.add(job)
  void job.finally(() => rt.background.delete(job))
}

async function safeStore(rt: Runtime, input: FetchInput, entry: CacheEntry): Promise<boolean> {
  try {
    await storeEntry(rt.store, input.key, entry, input.index)
    return true
  } catch (err) {
    rt.log.storeFailed(err, { keyId: input.key.id })
    return false
  }
}

function respond(rt: Runtime, ctx: RequestContext, input: FetchInput, plan: FetchPlan, result: FetchResult): Promise<void> {
  const stale = plan.stale
  switch (result.kind) {
    case 'entry':
      if (!result.stored) ctx.reason ??= result.reason ?? 'STORAGE_ERROR'
      deliver(ctx, result.entry, result.cacheStatus, { ...forwarded(plan), fwdStatus: result.fwdStatus, stored: result.stored }, result.own)
      return Promise.resolve()
    case 'stream': {
      const { response } = result
      if (isErrorStatus(response.status) && stale !== undefined && canServeStaleOnError(stale, input.reqDirectives, Date.now())) {
        skipBody(response.body, response.headers)
        deliver(ctx, stale, 'STALE', { fwd: 'stale', fwdStatus: response.status, detail: 'stale-if-error' })
        return Promise.resolve()
      }
      if (result.reason === 'TOO_LARGE' && ctx.req.headers.range !== undefined && response.status === 200) {
        // Too large to store, so the range cannot come from the cache: let the origin serve it.
        discardBody(response.body)
        rt.proxy.web(ctx, input.route, 'PARTIAL')
        return Promise.resolve()
      }
      ctx.reason ??= result.reason
      const status: CacheStatus = stale === undefined ? 'MISS' : 'EXPIRED'
      const fwd: Forwarded = { ...forwarded(plan), fwdStatus: response.status, detail: reasonDetail(result.reason) }
      return streamToClient(ctx, response.status, response.headers, response.body, result.prefix, status, fwd)
    }
    case 'shared-error':
      if (stale !== undefined && isErrorStatus(result.status) && canServeStaleOnError(stale, input.reqDirectives, Date.now())) {
        deliver(ctx, stale, 'STALE', { fwd: 'stale', fwdStatus: result.status, detail: 'stale-if-error' })
        return Promise.resolve()
      }
      ctx.reason ??= 'STATUS'
      respondBuffered(ctx, result.status, result.headers, result.body, stale === undefined ? 'MISS' : 'EXPIRED', {
        ...forwarded(plan),
        fwdStatus: result.status,
        detail: reasonDetail('STATUS'),
      })
      return Promise.resolve()
    case 'error':
      if (stale !== undefined && canServeStaleOnError(stale, input.reqDirectives, Date.now())) {
        deliver(ctx, stale, 'STALE', { fwd: 'stale', detail: 'stale-if-error' })
        return Promise.resolve()
      }
      ctx.reason ??= 'ORIGIN_ERROR'
      rt.log.originFailed(result.error, { reqId: ctx.reqId, upstream: input.route.upstream.name, code: result.error.code })
      respondError(ctx, result.error)
      return Promise.resolve()
  }
}

/**
 * The origin's fields that the stored entry leaves out on purpose, named by their sources: those
 * a qualified `private="…"` / `no-cache="…"` lists, and Set-Cookie when it is not stored (under
 * `setCookie: strip`, or in a 304). They belong to the requester, who gets them; followers and
 * later hits do not. Fields left out for other reasons (hop-by-hop, Connection options, an
 * upstream X-Cache-Status) are not anyone's.
 */
function ownFields(headers: IncomingHttpHeaders, d: ResponseDirectives, setCookie: boolean): readonly string[] | undefined {
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

/** RFC 5861 §4: the statuses stale-if-error may answer instead of. */
function isErrorStatus(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504
}

function outcomeOf(result: FetchResult): FlightOutcome {
  switch (result.kind) {
    case 'entry':
      if (result.shareable === false) return { kind: 'not-shareable', reason: result.reason ?? 'NO_STORE', originStatus: result.fwdStatus }
      return { kind: 'entry', entry: result.entry, cacheStatus: result.cacheStatus, fwdStatus: result.fwdStatus }
    case 'stream':
      return { kind: 'not-shareable', reason: result.reason, originStatus: result.response.status }
    case 'shared-error':
    case 'error':
      return result
  }
}

function remember(rt: Runtime, input: FetchInput, result: FetchResult): void {
  const id = input.key.id
  if (result.kind === 'entry' && result.shareable !== false) rt.hitForMiss.clear(id)
  else if ((result.kind === 'entry' || result.kind === 'stream') && result.reason !== undefined && RESOURCE_REASONS.has(result.reason)) {
    // A request's own no-store says nothing about the resource.
    if (result.reason === 'NO_STORE' && input.reqDirectives.noStore) return
    rt.hitForMiss.mark(id, Date.now(), result.reason)
  }
}

function forwarded(plan: FetchPlan): Forwarded {
  if (plan.byRequest) return { fwd: 'request' }
  if (plan.stale !== undefined) return { fwd: 'stale' }
  return { fwd: plan.varyMiss ? 'vary-miss' : 'uri-miss' }
}

/** May a follower use the leader's entry: the same route selector and the same Vary values? */
function variantMatches(entry: CacheEntry, key: CacheKey, reqHeaders: IncomingHttpHeaders): boolean {
  if (entry.selector !== key.selector) return false
  return entry.vary.length === 0 || varySignature(entry.vary, reqHeaders) === entry.varySignature
}

/**
 * The request the cache sends: the client's fields minus hop-by-hop, Host (the upstream's is
 * used, as nginx does) and the client's conditionals and ranges (the cache wants the whole
 * object and answers those itself), plus Via and X-Forwarded-*.
 */
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  'host',
  'content-length',
  'expect',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
])

function originRequestHeaders(ctx: RequestContext): Record<string, string | string[]> {
  const src = ctx.req.headers
  const out: Record<string, string | string[]> = {}
  const connection = src.connection
  const named = connection === undefined ? undefined : connection.toLowerCase().split(',').map((s) => s.trim())
  for (const name in src) {
    const value = src[name]
    if (value === undefined || NOT_FORWARDED.has(name) || named?.includes(name) === true) continue
    out[name] = value
  }
  const client = ctx.req.socket.remoteAddress ?? ''
  const prior = src['x-forwarded-for']
  out['x-forwarded-for'] = prior === undefined ? client : `${String(prior)}, ${client}`
  out['x-forwarded-proto'] = 'http'
  out['x-forwarded-host'] = src.host ?? ctx.host
  const via = `${ctx.req.httpVersion} corral`
  out.via = src.via === undefined ? via : `${src.via}, ${via}`
  return out
}

/** Read a body until it ends or passes `limit` bytes; past the limit the stream is paused, not lost. */
function readUpTo(body: Readable, limit: number): Promise<{ chunks: Buffer[]; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    const cleanup = (): void => {
      body.off('data', onData)
      body.off('end', onEnd)
      body.off('error', onError)
    }
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      bytes += chunk.length
      if (bytes > limit) {
        body.pause()
        cleanup()
        resolve({ chunks, complete: false })
      }
    }
    const onEnd = (): void => {
      cleanup()
      resolve({ chunks, complete: true })
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    body.on('data', onData)
    body.once('end', onEnd)
    body.once('error', onError)
  })
}

function internalError(err: unknown): GatewayError {
  return new GatewayError('CORRAL_ERR_INTERNAL', 'internal error while fetching', { cause: err })
}
