/**
 * The leader's fetch: ask the origin once for the flight, store what may be stored (under the
 * flight's lease when it holds one), tell the followers what came of it, and answer its own client.
 * The 304 path lives in revalidate.ts.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { Fill } from '../../coalesce/fill.js'
import type { FlightOutcome, SharedError } from '../../coalesce/types.js'
import type { RequestContext } from '../../context.js'
import { GatewayError } from '../../errors.js'
import { headerValue } from '../../http.js'
import { toGatewayError, type OriginResponse } from '../../origin/client.js'
import { revalidationHeaders } from '../../policy/conditional.js'
import { parseVary, varySignature } from '../../policy/vary.js'
import type { Runtime } from '../../runtime.js'
import type { CacheStatus, Reason } from '../../status.js'
import type { CacheEntry } from '../../store/types.js'
import { canServeStaleOnError } from '../decide.js'
import { deliver, deliverFill, reasonDetail, type Forwarded } from '../deliver.js'
import { discardBody, forwardInterim, respondBuffered, respondError, skipBody, streamToClient } from '../respond.js'
import { buildEntry, judge, withBody, type Storable } from '../store.js'
import type { FetchInput } from './origin-request.js'
import { forwarded, ownFields, safeStore, type FetchPlan, type FetchResult } from './result.js'
import { revalidated } from './revalidate.js'
import { answerWithStale, isErrorStatus } from './stale-on-error.js'

/** Largest error body a crowd shares; a larger one is streamed to the leader's client alone. */
const SHARED_ERROR_BYTES = 64 * 1024

/**
 * A storable body larger than this, or of unknown length, is streamed to the flight's clients as
 * it arrives (a fill) instead of being read whole first: the followers' first byte comes with the
 * leader's. Smaller ones arrive in a packet or two; they are read whole, and stored before anyone
 * is answered (which lets Cache-Status say `stored`).
 */
const FILL_ABOVE_BYTES = 64 * 1024

const NO_BODY = Buffer.alloc(0)

/** Reasons that belong to the resource, not to this request: remember them (hit-for-miss). */
const RESOURCE_REASONS: ReadonlySet<Reason> = new Set<Reason>(['PRIVATE', 'NO_STORE', 'SET_COOKIE', 'TOO_LARGE', 'VARY_STAR', 'NO_FRESHNESS'])

/** Fetch from the origin and, when the response may be stored, read and store it. Never throws. */
export async function originFetch(rt: Runtime, input: FetchInput, ctx: RequestContext | undefined): Promise<FetchResult> {
  const { route, cache, key, stale } = input
  const headers = input.revalidate && stale !== undefined ? { ...input.originHeaders, ...revalidationHeaders(stale) } : input.originHeaders
  const started = performance.now()
  let response: OriginResponse
  rt.counters.originFetches++
  try {
    response = await rt.origins.request(route.upstream, {
      method: 'GET',
      path: input.url,
      headers,
      onInfo: ctx === undefined ? undefined : (status, fields) => forwardInterim(ctx.res, status, fields),
    })
  } catch (err) {
    rt.metrics.originFailed(route.upstream.name, err)
    return { kind: 'error', error: toGatewayError(err, route.upstream) }
  } finally {
    if (ctx !== undefined) ctx.originMs = performance.now() - started
  }
  rt.metrics.originResponded(route.upstream.name, response.status, started)
  try {
    if (response.status === 304 && input.revalidate && stale !== undefined) {
      return await revalidated(rt, input, stale, response, ctx, originFetch)
    }
    let verdict = response.status === 304 ? { reason: 'STATUS' as const } : judge(response, input.reqHeaders, input.reqDirectives, cache)
    // An error that stale-if-error may answer (RFC 5861 §4) is answered with the stale copy and not
    // stored over it, even when its own freshness or a route rule would store it: the window is the
    // origin's (or the route's) word that the stale copy is better than an error, as nginx's
    // proxy_cache_use_stale also decides before caching the error.
    if (!('reason' in verdict) && stale !== undefined && isErrorStatus(response.status) && canServeStaleOnError(stale, input.reqDirectives, Date.now())) {
      verdict = { reason: 'STATUS' }
    }
    if ('reason' in verdict) {
      // Nothing but the status keeps this 5xx from being stored (no explicit freshness nor route
      // rule; no private, no-store, Set-Cookie, Authorization…): the crowd that waited for it gets
      // it too, instead of each asking again.
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
    // Not for a client asking for a range: it is cut from the whole entry.
    if (ctx !== undefined && ctx.req.headers.range === undefined && !(declared <= FILL_ABOVE_BYTES)) {
      return startFill(rt, input, response, verdict.storable)
    }
    const read = await readUpTo(response.body, cache.maxObjectBytes)
    if (!read.complete) return { kind: 'stream', response, prefix: read.chunks, reason: 'TOO_LARGE' }
    const body = read.chunks.length === 1 ? (read.chunks[0] as Buffer) : Buffer.concat(read.chunks)
    const entry = buildEntry(key, response, verdict.storable, body, input.reqHeaders, cache)
    const notStored = await safeStore(rt, input, entry)
    return {
      kind: 'entry',
      entry,
      cacheStatus: stale === undefined ? 'MISS' : 'EXPIRED',
      fwdStatus: response.status,
      stored: notStored === undefined,
      reason: notStored,
      own: ownFields(response.headers, verdict.storable.directives, cache.setCookie === 'strip'),
    }
  } catch (err) {
    rt.metrics.originFailed(route.upstream.name, err, true)
    discardBody(response.body)
    return { kind: 'error', error: toGatewayError(err, route.upstream) }
  }
}

/**
 * A fill: the entry is built from the head now, its body is pushed to every reader as it arrives
 * and, once whole, stored; past maxObjectSize the flight settles as too large, and those already
 * reading go on to the end.
 */
function startFill(rt: Runtime, input: FetchInput, response: OriginResponse, storable: Storable): FetchResult {
  const { key, cache, stale } = input
  const body = response.body
  const declared = Number(response.headers['content-length'])
  const head = buildEntry(key, response, storable, NO_BODY, input.reqHeaders, cache)
  const fill = new Fill(
    head,
    Number.isNaN(declared) ? undefined : declared,
    cache.maxObjectBytes,
    () => body.pause(),
    () => body.resume(),
  )
  const cacheStatus: CacheStatus = stale === undefined ? 'MISS' : 'EXPIRED'
  let start!: () => void
  const settled = new Promise<FetchResult>((resolve) => {
    start = () => {
      let tooLarge = false
      body.on('data', (chunk: Buffer) => {
        fill.push(chunk)
        if (fill.joinable) return
        if (!tooLarge) {
          tooLarge = true
          resolve({ kind: 'stream', response, prefix: [], reason: 'TOO_LARGE' })
        }
        // Past the limit, read only for someone.
        if (fill.readerCount === 0) discardBody(body)
      })
      body.once('end', () => {
        fill.end()
        const whole = fill.body()
        if (whole === undefined) return
        const entry = withBody(head, whole)
        void safeStore(rt, input, entry).then((notStored) =>
          resolve({ kind: 'entry', entry, cacheStatus, fwdStatus: response.status, stored: notStored === undefined, reason: notStored }),
        )
      })
      body.once('error', (err: Error) => {
        fill.fail()
        if (tooLarge) return
        rt.metrics.originFailed(input.route.upstream.name, err, true)
        resolve({ kind: 'error', error: toGatewayError(err, input.route.upstream) })
      })
    }
  })
  return {
    kind: 'fill',
    fill,
    cacheStatus,
    fwdStatus: response.status,
    own: ownFields(response.headers, storable.directives, cache.setCookie === 'strip'),
    start,
    settled,
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

/** The leader's own client gets what the fetch produced. */
export function respond(rt: Runtime, ctx: RequestContext, input: FetchInput, plan: FetchPlan, result: FetchResult): Promise<void> {
  const stale = plan.stale
  switch (result.kind) {
    case 'entry':
      if (!result.stored) ctx.reason ??= result.reason ?? 'STORAGE_ERROR'
      deliver(ctx, result.entry, result.cacheStatus, { ...forwarded(plan), fwdStatus: result.fwdStatus, stored: result.stored }, result.own)
      return Promise.resolve()
    case 'stream': {
      const { response } = result
      if (answerWithStale(ctx, stale, input.reqDirectives, input.cache, { fwdStatus: response.status })) {
        skipBody(response.body, response.headers)
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
    case 'fill': {
      // The leader's client reads first, so that it gets every byte whatever the body's size.
      const done = deliverFill(ctx, result.fill, result.cacheStatus, { ...forwarded(plan), fwdStatus: result.fwdStatus }, result.own, true)
      result.start()
      return done.then(() => undefined)
    }
    case 'shared-error':
      respondSharedError(ctx, result, stale, input, plan, false)
      return Promise.resolve()
    case 'error':
      if (answerWithStale(ctx, stale, input.reqDirectives, input.cache, { error: result.error })) return Promise.resolve()
      ctx.reason ??= 'ORIGIN_ERROR'
      rt.log.originFailed(result.error, { reqId: ctx.reqId, upstream: input.route.upstream.name, code: result.error.code })
      respondError(ctx, result.error)
      return Promise.resolve()
  }
}

/** An impersonal origin 5xx, for the leader's client or for a follower of its flight. */
export function respondSharedError(
  ctx: RequestContext,
  shared: SharedError,
  stale: CacheEntry | undefined,
  input: FetchInput,
  plan: FetchPlan,
  collapsed: boolean,
): void {
  if (answerWithStale(ctx, stale, input.reqDirectives, input.cache, { fwdStatus: shared.status, collapsed })) return
  ctx.reason ??= 'STATUS'
  respondBuffered(ctx, shared.status, shared.headers, shared.body, stale === undefined ? 'MISS' : 'EXPIRED', {
    ...forwarded(plan),
    fwdStatus: shared.status,
    collapsed: collapsed || undefined,
    detail: reasonDetail('STATUS'),
  })
}

/** What the followers learn from the leader's result. */
export function outcomeOf(input: FetchInput, result: FetchResult): FlightOutcome {
  switch (result.kind) {
    case 'entry':
      if (result.shareable === false) {
        return { kind: 'not-shareable', reason: result.reason ?? 'NO_STORE', originStatus: result.fwdStatus, remembered: remembers(input, result.reason) }
      }
      return { kind: 'entry', entry: result.entry, cacheStatus: result.cacheStatus, fwdStatus: result.fwdStatus, stored: result.stored }
    case 'stream':
      return { kind: 'not-shareable', reason: result.reason, originStatus: result.response.status, remembered: remembers(input, result.reason) }
    case 'fill':
      return { kind: 'fill', fill: result.fill, cacheStatus: result.cacheStatus, fwdStatus: result.fwdStatus }
    case 'shared-error':
    case 'error':
      return result
  }
}

/** Whether a response not shared says something about the resource (hit-for-miss), not about this request. */
function remembers(input: FetchInput, reason: Reason | undefined): boolean {
  if (reason === undefined || !RESOURCE_REASONS.has(reason)) return false
  // A request's own no-store says nothing about the resource.
  return !(reason === 'NO_STORE' && input.reqDirectives.noStore)
}

/** Keep this process's hit-for-miss table up to date with the leader's result. */
export function remember(rt: Runtime, input: FetchInput, result: FetchResult): void {
  if (result.kind === 'fill') {
    void result.settled.then((final) => remember(rt, input, final))
    return
  }
  const id = input.key.id
  if (result.kind === 'entry' && result.shareable !== false) rt.hitForMiss.clear(id)
  else if ((result.kind === 'entry' || result.kind === 'stream') && remembers(input, result.reason)) {
    rt.hitForMiss.mark(id, Date.now(), result.reason)
  }
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

export function internalError(err: unknown): GatewayError {
  return new GatewayError('CORRAL_ERR_INTERNAL', 'internal error while fetching', { cause: err })
}
