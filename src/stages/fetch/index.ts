/**
 * fetch: get the object from the origin once per flight — a key, or one variant of it — in this
 * process and, with a fleet lock, across worker processes and instances. The first request
 * becomes the leader and fetches (conditionally when it holds a stale entry with validators);
 * the others follow and receive what came of it. A response that cannot be shared is never
 * handed to followers: they fetch on their own, and the key is marked hit-for-miss so that later
 * requests do not queue behind it.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { FlightRequest, Role } from '../../coalesce/types.js'
import type { Route, RouteCache } from '../../config/types.js'
import type { RequestContext } from '../../context.js'
import { varySignature } from '../../policy/vary.js'
import type { Runtime } from '../../runtime.js'
import { lockId, variantId } from '../../store/ids.js'
import type { CacheEntry, CacheRecord, VaryIndex } from '../../store/types.js'
import { deliver } from '../deliver.js'
import type { CacheKey } from '../key.js'
import { skipBody } from '../respond.js'
import { follow } from './follow.js'
import { internalError, originFetch, outcomeOf, remember, respond } from './leader.js'
import { fetchInput, type FetchInput } from './origin-request.js'
import type { FetchPlan, FetchResult } from './result.js'

export type { FetchPlan } from './result.js'

export async function fetchForClient(rt: Runtime, ctx: RequestContext, key: CacheKey, plan: FetchPlan): Promise<void> {
  const input = fetchInput(ctx, key, plan.stale, plan.revalidate, plan.index)
  const marked = rt.hitForMiss.why(key.id, Date.now())
  if (marked !== undefined) {
    ctx.reason = 'HIT_FOR_MISS'
    return fetchAlone(rt, ctx, marked === 'TOO_LARGE' ? { ...input, knownTooLarge: true } : input, plan)
  }
  if (input.cache.coalesce.lock === 'off') return fetchAlone(rt, ctx, input, plan)
  return fetchInFlight(rt, ctx, input, plan, flightFor(input, ctx.req.headers, planTarget(plan)), true)
}

/** Which flight a request joins, and what it saw of the flight's record. */
interface Target {
  /** The URI's Vary names, when its responses are known to vary. */
  readonly vary: readonly string[] | undefined
  readonly index: VaryIndex | undefined
  /** The record this request looked at under the flight's record id (a stale entry), if any. */
  readonly seen: CacheRecord | undefined
}

/**
 * The flight a request joins: the key's, until its responses are known to vary (by Vary or by
 * the route's key headers and cookies); then its variant's, whose record id the vary index gives.
 */
function flightFor(
  input: Pick<FetchInput, 'key' | 'cache' | 'stale'>,
  reqHeaders: IncomingHttpHeaders,
  target: Target,
): FlightRequest {
  const { key, cache, stale } = input
  const policy = cache.coalesce
  const vary = target.index?.vary ?? target.vary
  let lock = key.id
  let entryId = key.id
  if (vary !== undefined && (vary.length > 0 || key.selector !== '')) {
    const signature = vary.length === 0 ? '' : varySignature(vary, reqHeaders)
    lock = lockId(key.id, { selector: key.selector, varySignature: signature })
    if (target.index !== undefined) entryId = variantId(key.id, target.index.generation, key.selector, signature)
  }
  const staleOnTimeout = stale !== undefined && !stale.noStale && !stale.noCache
  return {
    lockId: lock,
    entryId,
    keyId: key.id,
    seenVersion: target.seen?.version ?? '',
    scope: policy.lock === 'distributed' ? 'distributed' : 'local',
    leaseMs: policy.leaseMs,
    waitMs: policy.waitTimeoutMs,
    fetchOnTimeout: policy.onTimeout === 'fetch' || (policy.onTimeout === 'stale' && !staleOnTimeout),
  }
}

function planTarget(plan: { readonly index: VaryIndex | undefined; readonly stale: CacheEntry | undefined }): Target {
  return { vary: plan.index?.vary ?? plan.stale?.vary, index: plan.index, seen: plan.stale }
}

/** `mayRejoin`: a follower handed another variant joins (or leads) that variant's flight, once. */
async function fetchInFlight(
  rt: Runtime,
  ctx: RequestContext,
  input: FetchInput,
  plan: FetchPlan,
  flight: FlightRequest,
  mayRejoin: boolean,
): Promise<void> {
  const started = performance.now()
  const claimed = rt.coalescer.claim(flight)
  const role = claimed instanceof Promise ? await claimed : claimed
  if (role.role === 'follower') {
    rt.counters.coalesced++
    // A body still arriving is streamed to this follower too, unless it wants a range of it.
    const outcome = await role.wait(ctx.req.headers.range === undefined)
    ctx.lockWaitMs = (ctx.lockWaitMs ?? 0) + performance.now() - started
    ctx.lockRole = 'follower'
    return follow(
      {
        rt,
        ctx,
        input,
        plan,
        rejoin: (vary, index) =>
          mayRejoin ? rejoin(rt, ctx, input, plan, vary, index) : fetchAlone(rt, ctx, input, plan),
        alone: () => fetchAlone(rt, ctx, input, plan),
      },
      outcome,
    )
  }
  if (claimed instanceof Promise) ctx.lockWaitMs = (ctx.lockWaitMs ?? 0) + performance.now() - started
  ctx.lockRole = role.lockRole
  if (role.lockRole === 'fallback') rt.counters.lockFallbacks++
  if (role.lockRole === 'takeover') rt.counters.lockTakeovers++
  const result = await leaderFetch(rt, role, role.lease === undefined ? input : { ...input, lease: role.lease }, ctx)
  return respond(rt, ctx, input, plan, result)
}

/** The flight of the variant this request asks for, its record id made with the URI's current vary index. */
async function rejoin(
  rt: Runtime,
  ctx: RequestContext,
  input: FetchInput,
  plan: FetchPlan,
  vary: readonly string[],
  known: VaryIndex | undefined,
): Promise<void> {
  let primary: CacheRecord | undefined = known
  if (primary === undefined) {
    primary = await Promise.resolve()
      .then(() => rt.store.lookup(input.key.id))
      .catch(() => undefined)
  }
  const index = primary?.kind === 'vary' ? primary : undefined
  // Without an index, the primary id holds what this request has seen there (another variant's answer, or nothing).
  const target: Target = index === undefined ? { vary, index, seen: primary } : { vary, index, seen: undefined }
  return fetchInFlight(rt, ctx, { ...input, index: index ?? input.index }, { ...plan, index: index ?? plan.index }, flightFor(input, ctx.req.headers, target), false)
}

async function fetchAlone(rt: Runtime, ctx: RequestContext, input: FetchInput, plan: FetchPlan): Promise<void> {
  const result = await originFetch(rt, input, ctx)
  remember(rt, input, result)
  return respond(rt, ctx, input, plan, result)
}

/** The leader fetches and settles its flight, whatever happens. */
async function leaderFetch(rt: Runtime, role: Extract<Role, { role: 'leader' }>, input: FetchInput, ctx: RequestContext | undefined): Promise<FetchResult> {
  let result: FetchResult
  try {
    result = await originFetch(rt, input, ctx)
  } catch (err) {
    role.settle({ kind: 'error', error: internalError(err) })
    throw err
  }
  if (result.kind === 'fill') {
    role.announce(outcomeOf(input, result))
    void result.settled.then((final) => role.settle(outcomeOf(input, final)))
  } else {
    role.settle(outcomeOf(input, result))
  }
  remember(rt, input, result)
  return result
}

/**
 * stale-while-revalidate: serve the stale entry now and refresh it in the background, once for
 * the fleet. The request that starts the refresh is STALE; those that find one running are UPDATING.
 */
export function serveStaleAndRefresh(
  rt: Runtime,
  ctx: RequestContext,
  key: CacheKey,
  entry: CacheEntry,
  index: VaryIndex | undefined,
): void | Promise<void> {
  const cache = (ctx.route as Route).cache as RouteCache
  const led = rt.coalescer.tryLead(flightFor({ key, cache, stale: entry }, ctx.req.headers, planTarget({ index, stale: entry })))
  const serve = (role: Extract<Role, { role: 'leader' }> | undefined): void => {
    if (role === undefined) {
      deliver(ctx, entry, 'UPDATING', { detail: 'stale-while-revalidate' })
      return
    }
    ctx.lockRole = role.lockRole
    // The refresh's request is built before the client's answer: it reads the request's fields.
    const input = fetchInput(ctx, key, entry, entry.etag !== undefined || entry.lastModified !== undefined, index)
    deliver(ctx, entry, 'STALE', { detail: 'stale-while-revalidate' })
    refreshInBackground(rt, role, input)
  }
  if (led instanceof Promise) return led.then(serve)
  serve(led)
}

/**
 * Probabilistic early refresh: a hit on an entry close to its expiry refreshes it in the background
 * (once for the fleet), so that a hot key never expires under load. The client has its HIT already.
 */
export function refreshEarly(rt: Runtime, ctx: RequestContext, key: CacheKey, entry: CacheEntry, index: VaryIndex | undefined): void {
  if (fetchedInsideRefreshWindow(entry, ((ctx.route as Route).cache as RouteCache).earlyRefresh)) return
  const input = fetchInput(ctx, key, entry, entry.etag !== undefined || entry.lastModified !== undefined, index)
  const led = rt.coalescer.tryLead(flightFor(input, ctx.req.headers, planTarget({ index, stale: entry })))
  const start = (role: Extract<Role, { role: 'leader' }> | undefined): void => {
    if (role === undefined) return
    rt.counters.earlyRefreshes++
    refreshInBackground(rt, role, input)
  }
  if (led instanceof Promise) {
    void led.then(start, (err: unknown) => rt.log.refreshFailed(err, { keyId: key.id }))
  } else {
    start(led)
  }
}

/**
 * An entry that was already inside its early-refresh window when it was fetched: the origin's copy
 * was that old (an `Age` from a cache upstream, or a `Date` up to a second behind with a short
 * max-age). Fetching it again early would bring back the same expiry, so every hit of the window
 * would start another refresh (with `max-age=1`, several origin requests a second instead of
 * one): it is left to expire, and fetched then.
 */
function fetchedInsideRefreshWindow(entry: CacheEntry, fraction: number): boolean {
  const lifetimeMs = entry.staleAt - entry.responseTime + entry.initialAgeMs
  return entry.responseTime >= entry.staleAt - lifetimeMs * fraction
}

function refreshInBackground(rt: Runtime, role: Extract<Role, { role: 'leader' }>, input: FetchInput): void {
  const keyId = input.key.id
  const job = leaderFetch(rt, role, role.lease === undefined ? input : { ...input, lease: role.lease }, undefined).then(
    (result) => {
      if (result.kind === 'stream') skipBody(result.response.body, result.response.headers)
      if (result.kind === 'fill') result.start()
      if (result.kind === 'error') rt.log.refreshFailed(result.error, { keyId })
    },
    (err: unknown) => rt.log.refreshFailed(err, { keyId }),
  )
  rt.background.add(job)
  void job.finally(() => rt.background.delete(job))
}
