/**
 * The request flow, and the only place that knows the order of the stages (DESIGN.md):
 * receive → route → key → lookup → decide → deliver | serve stale + refresh | revalidate | fetch → store → deliver,
 * or pass when the request may not use the cache.
 */
import type { Route, RouteCache } from './config/types.js'
import type { RequestContext } from './context.js'
import { GatewayError } from './errors.js'
import { parseRequestCacheControl } from './policy/cache-control.js'
import type { Runtime } from './runtime.js'
import { decide, NO_DIRECTIVES } from './stages/decide.js'
import { deliver } from './stages/deliver.js'
import { writePlainHit } from './stages/hit-fast.js'
import { fetchForClient, refreshEarly, serveStaleAndRefresh } from './stages/fetch/index.js'
import { cacheKey, type CacheKey } from './stages/key.js'
import { lookup, type Lookup } from './stages/lookup.js'
import type { CacheEntry } from './store/types.js'
import { respondError } from './stages/respond.js'
import { matchRoute, passReason } from './stages/route.js'
import { purgeByMethod } from './admin/purge-method.js'

/** Synchronous as far as it can be: a memory hit is answered without a single promise. */
export function handle(rt: Runtime, ctx: RequestContext): void | Promise<void> {
  if (ctx.method === 'PURGE' && rt.config.purge.method) return purgeByMethod(rt, ctx)
  const route = matchRoute(rt.config.routes, ctx.host, ctx.path, ctx.method)
  if (route === undefined) {
    respondError(ctx, new GatewayError('CORRAL_ERR_NO_ROUTE', `no route for ${ctx.method} ${ctx.host}${ctx.path}`), true)
    return
  }
  ctx.route = route
  const why = passReason(ctx, route)
  if (why !== undefined || route.cache === undefined) {
    rt.proxy.web(ctx, route, why ?? 'ROUTE_NO_CACHE') //                          BYPASS
    return
  }

  const h = ctx.req.headers
  const rd =
    h['cache-control'] === undefined && h.pragma === undefined ? NO_DIRECTIVES : parseRequestCacheControl(h['cache-control'], h.pragma)
  ctx.reqDirectives = rd
  const key = cacheKey(ctx, route.cache.key)
  ctx.keyId = key.id
  const lookupStarted = performance.now()
  const found = lookup(rt.store, key, h)
  if (found instanceof Promise) return found.then((f) => serve(rt, ctx, route, key, f, lookupStarted))
  return serve(rt, ctx, route, key, found, lookupStarted)
}

/**
 * Early refresh: within the last `fraction` of an entry's freshness, each hit refreshes it with a
 * probability that grows from 1% at the start of that window to 100% at expiry, so that under load
 * one hit refreshes it shortly before it expires and nobody ever finds it stale.
 */
function isRefreshDue(entry: CacheEntry, fraction: number, now: number): boolean {
  const lifetimeMs = entry.staleAt - entry.responseTime + entry.initialAgeMs
  const windowMs = lifetimeMs * fraction
  const leftMs = entry.staleAt - now
  if (leftMs > windowMs || windowMs <= 0) return false
  return Math.random() < Math.exp((-EARLY_REFRESH_STEEPNESS * leftMs) / windowMs)
}

/** ln(100): the probability at the start of the window is e^-4.6 ≈ 1%. */
const EARLY_REFRESH_STEEPNESS = Math.log(100)

function serve(rt: Runtime, ctx: RequestContext, route: Route, key: CacheKey, found: Lookup, lookupStarted: number): void | Promise<void> {
  ctx.lookupMs = performance.now() - lookupStarted
  if (found.storeError !== undefined) ctx.reason = 'STORAGE_ERROR'
  const rd = ctx.reqDirectives ?? NO_DIRECTIVES
  const h = ctx.req.headers
  const cache = route.cache as RouteCache
  const now = Date.now()
  const plan = decide(found.entry, rd, now)
  switch (plan.kind) {
    case 'fresh':
      if (!writePlainHit(ctx, plan.entry, now)) deliver(ctx, plan.entry, 'HIT') //       HIT
      if (cache.earlyRefresh > 0 && isRefreshDue(plan.entry, cache.earlyRefresh, now)) refreshEarly(rt, ctx, key, plan.entry, found.index)
      return
    case 'serve-stale':
      return deliver(ctx, plan.entry, 'STALE', { detail: 'max-stale' }) //          STALE
    case 'stale-while-revalidate':
      return serveStaleAndRefresh(rt, ctx, key, plan.entry, found.index) //          STALE | UPDATING
    case 'revalidate': //                                                           REVALIDATED | EXPIRED
      return fetchForClient(rt, ctx, key, { stale: plan.entry, revalidate: true, byRequest: plan.byRequest, varyMiss: false, index: found.index })
    case 'fetch': //                                                                MISS | EXPIRED
      if (h.range !== undefined && cache.rangeOnMiss === 'pass') return rt.proxy.web(ctx, route, 'PARTIAL')
      return fetchForClient(rt, ctx, key, {
        stale: plan.stale,
        revalidate: false,
        byRequest: plan.byRequest,
        varyMiss: found.varyMiss,
        index: found.index,
      })
    case 'unsatisfiable':
      ctx.reason = 'ONLY_IF_CACHED'
      return respondError(ctx, new GatewayError('CORRAL_ERR_ONLY_IF_CACHED', 'only-if-cached: nothing usable is stored'))
  }
}
