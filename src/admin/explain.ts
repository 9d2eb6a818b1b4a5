/**
 * explain: a dry run of the pipeline for one request — the route it matches, its cache key and
 * variant, what is stored for it, and what corral would answer now and why — without contacting
 * the origin or changing anything. It calls the functions the pipeline calls, in the pipeline's
 * order (receive → matchRoute → passReason → cacheKey → lookup → decide), on a request made of
 * the URL and header fields it is given, so that what it says cannot drift from what corral does.
 *
 * Read-only, but with the effects any read of the store has, all of which the next real request
 * would have too: the memory store counts the read as a use (LRU recency) and drops a record past
 * its expiresAt; a tiered store copies a record it reads from Redis into this process's L1 (and
 * remembers an id Redis did not have, for a moment); the hit-for-miss table forgets a mark that
 * has run out. No lock is taken, no flight joined, no refresh (stale-while-revalidate or early)
 * started, nothing written, nothing counted in the metrics.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { BypassRule, QueryRecipe, Route, RouteCache } from '../config/types.js'
import { withoutPassword } from '../config/index.js'
import type { RequestContext } from '../context.js'
import { GatewayError } from '../errors.js'
import { headerValue } from '../http.js'
import { parseRequestCacheControl } from '../policy/cache-control.js'
import { evaluatePreconditions, revalidationHeaders } from '../policy/conditional.js'
import { currentAgeMs } from '../policy/freshness.js'
import type { RequestDirectives } from '../policy/types.js'
import { varySignature } from '../policy/vary.js'
import type { Runtime } from '../runtime.js'
import { canServeStaleDisconnected, canServeStaleOnError, decide, NO_DIRECTIVES, type Plan } from '../stages/decide.js'
import { cacheKey, parseCookies, type CacheKey } from '../stages/key.js'
import { lookup, variantIdFor, type Lookup } from '../stages/lookup.js'
import { receive } from '../stages/receive.js'
import { matchRoute, passReason } from '../stages/route.js'
import type { CacheStatus, Reason } from '../status.js'
import type { CacheEntry, VaryIndex } from '../store/types.js'

export interface ExplainInput {
  /** `http://host/path?query`, or a path (`/path?query`): then `headers.host`, else 'localhost', is the host. */
  readonly url: string
  /** GET when absent. */
  readonly method?: string
  /** The request's header fields (names in any case). */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * What corral would do:
 * - `reject`: answer 400 itself (a malformed target or Host), as the client listener does;
 * - `purge`: a PURGE request with `purge.method` on: purge the URL (explain never does);
 * - `no-route`: answer 404, no route matches;
 * - `bypass`: pass the request to the origin around the cache (BYPASS);
 * - `hit`: answer from a fresh entry (HIT);
 * - `stale`: answer from a stale entry at once (STALE; with stale-while-revalidate, one request
 *   refreshes it in the background and the others are UPDATING until it is done);
 * - `revalidate`: ask the origin conditionally (REVALIDATED on 304, EXPIRED on a full answer);
 * - `fetch`: ask the origin for the whole response (MISS, or EXPIRED when a stale copy is stored);
 * - `only-if-cached`: answer 504, the request allows nothing but a stored response and none is usable.
 */
export type ExplainAction = 'reject' | 'purge' | 'no-route' | 'bypass' | 'hit' | 'stale' | 'revalidate' | 'fetch' | 'only-if-cached'

export interface ExplainReport {
  /** The moment the report describes (ISO 8601). */
  readonly at: string
  readonly request: ExplainRequest
  /** null: no route matched (or the request was rejected before routing). */
  readonly route: ExplainRoute | null
  /** null: the request may use the cache. */
  readonly bypass: ExplainBypass | null
  /** null: the route does not cache (cache: false), or there is no route. */
  readonly key: ExplainKey | null
  /** null: the URI's stored responses do not vary (or nothing is stored for it). */
  readonly variant: ExplainVariant | null
  /** The stored entry this request selects; null when none is. */
  readonly entry: ExplainEntry | null
  readonly decision: ExplainDecision
}

export interface ExplainRequest {
  readonly method: string
  /** As corral keys it: lowercased, without a trailing dot ('' when rejected before it was known). */
  readonly host: string
  /** As received, without the query. */
  readonly path: string
  /** Without '?', '' when none. */
  readonly query: string
  /** Names of the header fields given (lowercased). */
  readonly headers: readonly string[]
  /** The request's Cache-Control (or Pragma: no-cache); null when it has none. */
  readonly directives: ExplainDirectives | null
}

export interface ExplainDirectives {
  readonly maxAge?: number
  /** 'any': max-stale without a value. */
  readonly maxStale?: number | 'any'
  readonly minFresh?: number
  readonly noCache: boolean
  readonly noStore: boolean
  readonly onlyIfCached: boolean
  readonly staleIfError?: number
}

export interface ExplainRoute {
  readonly name: string
  /** Position in `routes` (routes[index] in messages). */
  readonly index: number
  readonly upstream: { readonly name: string; readonly url: string }
  /** false: caching is off for this route (cache: false). */
  readonly cache: boolean
}

export interface ExplainBypass {
  /** As the access line and metrics name it. */
  readonly reason: Reason
  /** The route rule that matched, for BYPASS_RULE. */
  readonly rule: { readonly kind: BypassRule['kind']; readonly name: string; readonly equals: string | null } | null
  readonly why: string
}

export interface ExplainKey {
  /** The readable URI key: `GET http://host/path?query` (HEAD shares GET's). */
  readonly uri: string
  /** Its store id (sha-256, 22 characters). */
  readonly id: string
  /** The route's key headers and cookies and this request's values for them ('' when absent). */
  readonly selector: ReadonlyArray<{ readonly kind: 'header' | 'cookie'; readonly name: string; readonly value: string; readonly present: boolean }>
  /** The path as received and as keyed (percent-encoded unreserved characters decoded). */
  readonly path: { readonly received: string; readonly keyed: string }
  readonly query: ExplainQuery
  /** What a cache fetch asks the origin for: the keyed path and query. */
  readonly target: string
  /** The same on the route's upstream. */
  readonly originUrl: string
  /** Fields of this request a cache fetch does not forward (they could change the answer without changing the key). */
  readonly notForwarded: readonly string[]
}

export interface ExplainQuery {
  readonly received: string
  readonly keyed: string
  /** The route's recipe: every parameter, none, an allow-list (`only`) or all but an ignore-list. */
  readonly mode: QueryRecipe['mode']
  /** The allow- or ignore-list. */
  readonly names: readonly string[]
  /** Parameters (`name=value`) in the key, in key order. */
  readonly kept: readonly string[]
  /** Parameters of the request left out of the key (and out of what the origin is asked). */
  readonly dropped: readonly string[]
  /** The key orders the kept parameters differently from the request. */
  readonly reordered: boolean
}

export interface ExplainVariant {
  /** The Vary field names stored responses of this URI list (sorted, lowercased). */
  readonly vary: readonly string[]
  /** This request's values for them (null: absent). */
  readonly values: ReadonlyArray<{ readonly field: string; readonly value: string | null }>
  /** The canonical form corral compares (values normalized, `\n`-separated). */
  readonly signature: string
  /** The record id of the variant this request selects (with the key's selector). */
  readonly id: string
  /** Changes when the URI is invalidated: variants of an older generation are unreachable. */
  readonly generation: string
  /** Whether that variant is stored. */
  readonly stored: boolean
  /** Variants of this generation the index tracks (a bound, not a count of what is stored). */
  readonly tracked: number
}

/** A stale-serving window: how long it is, and how much of it is left (counted from now, or from the end of freshness while still fresh). */
export interface ExplainWindow {
  readonly seconds: number
  readonly leftS: number
  /** Whether the entry's own directives let corral use it (must-revalidate, s-maxage, no-cache may forbid it). */
  readonly allowed: boolean
}

export interface ExplainEntry {
  /** The record id it is stored under. */
  readonly id: string
  readonly key: string
  readonly status: number
  /** When its response arrived (ISO 8601). */
  readonly storedAt: string
  /** The Age a client would be sent now (s). */
  readonly ageS: number
  /** Its freshness lifetime (s), after the route's jitter. */
  readonly lifetimeS: number
  readonly fresh: boolean
  /** Seconds of freshness left; null when stale. */
  readonly freshForS: number | null
  /** Seconds since it became stale; null when fresh. */
  readonly staleSinceS: number | null
  readonly staleWhileRevalidate: ExplainWindow | null
  readonly staleIfError: ExplainWindow | null
  /** The route's staleIfDisconnected: the origin unreachable, timing out or dropping the connection. */
  readonly staleIfDisconnected: ExplainWindow | null
  /** must-revalidate, proxy-revalidate or s-maxage: never served stale. */
  readonly mustRevalidate: boolean
  /** Response no-cache: validated with the origin before every use. */
  readonly noCache: boolean
  readonly etag: string | null
  readonly lastModified: string | null
  /** The stored Cache-Control field, as the origin sent it. */
  readonly cacheControl: string | null
  readonly vary: readonly string[]
  readonly bodyBytes: number
  /** What the entry costs the memory store (body, headers, keys). */
  readonly sizeBytes: number
  /** Purge tags (Surrogate-Key, Cache-Tag…); null when it has none. */
  readonly tags: readonly string[] | null
  /** When the store drops it (ISO 8601), and in how many seconds. */
  readonly expiresAt: string
  readonly expiresInS: number
}

export interface ExplainDecision {
  readonly action: ExplainAction
  /** The X-Cache-Status values the answer may carry, likeliest first ([] when corral answers with an error of its own). */
  readonly cacheStatus: readonly CacheStatus[]
  /** The HTTP status corral would answer with, when it is known without the origin; null otherwise. */
  readonly status: number | null
  /** What corral would ask the origin: nothing, a background refresh, a conditional request, the whole response, or the request itself (pass). */
  readonly origin: 'none' | 'background' | 'conditional' | 'full' | 'pass'
  /** The validators a conditional request sends. */
  readonly conditional: Readonly<Record<string, string>> | null
  /** The reason the access line would give (a bypass reason, ONLY_IF_CACHED, HIT_FOR_MISS, PARTIAL, STORAGE_ERROR); null for none. */
  readonly reason: Reason | null
  /** corral's own error, when it answers with one. */
  readonly error: { readonly code: string; readonly message: string } | null
  /** One sentence a person can read. */
  readonly why: string
  /** What else follows (stale-on-error, coalescing, storing, client conditionals…). */
  readonly notes: readonly string[]
}

/** A report that ends before a route was chosen: nothing about route, key, variant or entry. */
const BEFORE_ROUTING = { route: null, bypass: null, key: null, variant: null, entry: null } as const

export async function explain(rt: Runtime, input: ExplainInput): Promise<ExplainReport> {
  const now = Date.now()
  const at = new Date(now).toISOString()
  const method = (input.method ?? 'GET').toUpperCase()
  const headers = requestHeaders(input)
  const names = Object.keys(headers)

  // receive: the same parsing of the target and Host as the client listener.
  const ctx = method === '' || !TOKEN.test(method) ? new GatewayError('CORRAL_ERR_BAD_REQUEST', `invalid method "${method}"`) : receive(fakeRequest(method, input.url, headers), FAKE_RESPONSE)
  if (ctx instanceof GatewayError) {
    const target = splitTarget(input.url)
    return {
      at,
      request: { method, host: '', path: target.path, query: target.query, headers: names, directives: null },
      ...BEFORE_ROUTING,
      decision: errorDecision('reject', ctx, `corral would refuse the request before routing it: ${ctx.message}`),
    }
  }

  const h = ctx.req.headers
  const rd =
    h['cache-control'] === undefined && h.pragma === undefined ? NO_DIRECTIVES : parseRequestCacheControl(h['cache-control'], h.pragma)
  const request: ExplainRequest = {
    method: ctx.method,
    host: ctx.host,
    path: ctx.path,
    query: ctx.query,
    headers: names,
    directives: rd === NO_DIRECTIVES ? null : directivesOf(rd),
  }

  // The pipeline's first question: a PURGE, when the client listener accepts them.
  if (ctx.method === 'PURGE' && rt.config.purge.method) {
    return {
      at,
      request,
      ...BEFORE_ROUTING,
      decision: {
        action: 'purge',
        cacheStatus: [],
        status: null,
        origin: 'none',
        conditional: null,
        reason: null,
        error: null,
        why: `PURGE is on for the client listener (purge.method): corral would purge everything stored for http://${ctx.host}${ctx.path}${ctx.query === '' ? '' : `?${ctx.query}`}, every method and variant, if the client's address is in purge.allow (403 otherwise)`,
        notes: ['with Soft-Purge: 1 the entries are marked stale instead of removed'],
      },
    }
  }

  // route
  const route = matchRoute(rt.config.routes, ctx.host, ctx.path, ctx.method)
  if (route === undefined) {
    const err = new GatewayError('CORRAL_ERR_NO_ROUTE', `no route for ${ctx.method} ${ctx.host}${ctx.path}`)
    return {
      at,
      request,
      ...BEFORE_ROUTING,
      decision: errorDecision('no-route', err, `no route matches ${ctx.method} ${ctx.host}${ctx.path}: corral would answer 404`),
    }
  }
  ctx.route = route
  const routeReport: ExplainRoute = {
    name: route.name,
    index: route.index,
    upstream: { name: route.upstream.name, url: withoutPassword(route.upstream.url.href) },
    cache: route.cache !== undefined,
  }
  const passed = passReason(ctx, route) ?? (route.cache === undefined ? 'ROUTE_NO_CACHE' : undefined)
  const bypass = passed === undefined ? null : describeBypass(ctx, route, passed)

  if (route.cache === undefined) {
    return {
      at,
      request,
      route: routeReport,
      bypass,
      key: null,
      variant: null,
      entry: null,
      decision: bypassDecision(ctx, route, bypass as ExplainBypass),
    }
  }

  // key and lookup, also for a request that bypasses: what is stored for its URI is part of the answer to "why isn't this cached?".
  const cache = route.cache
  const key = cacheKey(ctx, cache.key)
  const found: Lookup = await lookup(rt.store, key, h)
  const variant = found.index === undefined ? null : describeVariant(found.index, key, h, found.entry !== undefined)
  const entryId = found.index === undefined ? key.id : variantIdFor(found.index, key, h)
  const entry = found.entry === undefined ? null : describeEntry(found.entry, entryId, cache, now)
  const keyReport = describeKey(ctx, route, cache, key, names)

  const marked = bypass !== null ? undefined : await hitForMissMark(rt, cache, key, now)
  const decision =
    bypass !== null ? bypassDecision(ctx, route, bypass, found.entry) : inOrder(serveDecision(rt, ctx, cache, key, found, decide(found.entry, rd, now), rd, now, marked))
  return { at, request, route: routeReport, bypass, key: keyReport, variant, entry, decision }
}

// ---------------------------------------------------------------------------------------------
// The request
// ---------------------------------------------------------------------------------------------

/** RFC 9110 §5.6.2 token: what a method may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function requestHeaders(input: ExplainInput): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(input.headers ?? {})) out[name.toLowerCase()] = value
  // A path alone: the Host given, else the default host.
  if (out.host === undefined && input.url.startsWith('/')) out.host = 'localhost'
  return out
}

/**
 * The parts of an IncomingMessage the pipeline reads up to the decision (receive, route, key,
 * lookup): the target, the method, the fields. Nothing here is ever written to or read from a socket.
 */
function fakeRequest(method: string, url: string, headers: Record<string, string>): IncomingMessage {
  const rawHeaders: string[] = []
  for (const [name, value] of Object.entries(headers)) rawHeaders.push(name, value)
  const req = {
    method,
    url,
    headers: headers as IncomingHttpHeaders,
    rawHeaders,
    httpVersion: '1.1',
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    socket: { remoteAddress: undefined },
  }
  return req as unknown as IncomingMessage
}

/** No stage before the decision writes a response; explain never delivers one. */
const FAKE_RESPONSE = {} as ServerResponse

function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?')
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) }
}

function directivesOf(rd: RequestDirectives): ExplainDirectives {
  return {
    ...(rd.maxAge === undefined ? {} : { maxAge: rd.maxAge }),
    ...(rd.maxStale === undefined ? {} : { maxStale: rd.maxStale === Infinity ? 'any' : rd.maxStale }),
    ...(rd.minFresh === undefined ? {} : { minFresh: rd.minFresh }),
    noCache: rd.noCache,
    noStore: rd.noStore,
    onlyIfCached: rd.onlyIfCached,
    ...(rd.staleIfError === undefined ? {} : { staleIfError: rd.staleIfError }),
  }
}

// ---------------------------------------------------------------------------------------------
// Bypass
// ---------------------------------------------------------------------------------------------

function describeBypass(ctx: RequestContext, route: Route, reason: Reason): ExplainBypass {
  switch (reason) {
    case 'METHOD':
      return { reason, rule: null, why: `${ctx.method} is not cacheable: only GET and HEAD requests use the cache` }
    case 'ROUTE_NO_CACHE':
      return { reason, rule: null, why: `route "${route.name}" (routes[${route.index}]) has caching off (cache: false)` }
    case 'UPGRADE':
      return { reason, rule: null, why: `the request asks for a protocol upgrade (Upgrade: ${headerValue(ctx.req.headers.upgrade) ?? ''})` }
    case 'BYPASS_RULE': {
      const rule = matchedRule(ctx, route)
      const what = rule === undefined ? 'a bypass rule' : `the bypass rule ${describeRule(rule)}`
      return {
        reason,
        rule: rule === undefined ? null : { kind: rule.kind, name: rule.name, equals: rule.value ?? null },
        why: `${what} of route "${route.name}" (routes[${route.index}]) matches`,
      }
    }
    default:
      return { reason, rule: null, why: `the request goes around the cache (${reason})` }
  }
}

/** Which of the route's bypass rules matched: passReason asked of each rule alone, so the matching stays the pipeline's. */
function matchedRule(ctx: RequestContext, route: Route): BypassRule | undefined {
  const cache = route.cache
  if (cache === undefined) return undefined
  return cache.bypass.find((rule) => passReason(ctx, { ...route, cache: { ...cache, bypass: [rule] } }) === 'BYPASS_RULE')
}

function describeRule(rule: BypassRule): string {
  const what = rule.kind === 'query' ? `query parameter ${rule.name}` : `${rule.kind} ${rule.name}`
  return rule.value === undefined ? `(${what} present)` : `(${what} equals ${JSON.stringify(rule.value)})`
}

function bypassDecision(ctx: RequestContext, route: Route, bypass: ExplainBypass, stored?: CacheEntry): ExplainDecision {
  const notes: string[] = []
  const method = ctx.method
  if (bypass.reason === 'METHOD' && UNSAFE.has(method) && route.cache !== undefined) {
    notes.push(
      `a successful ${method} (2xx or 3xx) drops what is stored for this URI, every variant included, and for a same-host Location / Content-Location (RFC 9111 §4.4)`,
    )
  }
  if (stored !== undefined) notes.push('an entry is stored for this URI, but this request does not use it')
  return {
    action: 'bypass',
    cacheStatus: ['BYPASS'],
    status: null,
    origin: 'pass',
    conditional: null,
    reason: bypass.reason,
    error: null,
    why: `${bypass.why}: corral would pass the request to ${route.upstream.name} (BYPASS)`,
    notes,
  }
}

const UNSAFE: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

// ---------------------------------------------------------------------------------------------
// Key and variant
// ---------------------------------------------------------------------------------------------

function describeKey(ctx: RequestContext, route: Route, cache: RouteCache, key: CacheKey, names: readonly string[]): ExplainKey {
  const h = ctx.req.headers
  const q = key.target.indexOf('?')
  const keyedPath = q === -1 ? key.target : key.target.slice(0, q)
  const keyedQuery = q === -1 ? '' : key.target.slice(q + 1)
  const received = ctx.query.split('&').filter((p) => p !== '')
  const kept = keyedQuery === '' ? [] : keyedQuery.split('&')
  // What the key left out: the request's parameters less the key's, one for one (repeats count).
  const left = [...kept]
  const dropped: string[] = []
  const inOrder: string[] = []
  for (const p of received) {
    const i = left.indexOf(p)
    if (i === -1) dropped.push(p)
    else {
      left.splice(i, 1)
      inOrder.push(p)
    }
  }
  const recipe = cache.key.query
  return {
    uri: key.key,
    id: key.id,
    selector: selectorParts(key.selector, h),
    path: { received: ctx.path, keyed: keyedPath },
    query: {
      received: ctx.query,
      keyed: keyedQuery,
      mode: recipe.mode,
      names: recipe.mode === 'only' || recipe.mode === 'ignore' ? [...recipe.names] : [],
      kept,
      dropped,
      reordered: inOrder.join('&') !== kept.join('&'),
    },
    target: key.target,
    originUrl: withoutPassword(route.upstream.origin + route.upstream.basePath + key.target),
    notForwarded: names.filter((n) => cache.notForwarded.has(n)),
  }
}

/** The selector keyFor made (`h:name=value\n`, `c:name=value\n`), read back so that it is exactly what was keyed. */
function selectorParts(selector: string, h: IncomingHttpHeaders): ExplainKey['selector'] {
  if (selector === '') return []
  const jar = parseCookies(headerValue(h.cookie))
  return selector
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const kind = line.startsWith('h:') ? 'header' : 'cookie'
      const eq = line.indexOf('=')
      const name = line.slice(2, eq)
      const value = line.slice(eq + 1)
      const present = kind === 'header' ? h[name] !== undefined : jar.has(name)
      return { kind, name, value, present }
    })
}

function describeVariant(index: VaryIndex, key: CacheKey, h: IncomingHttpHeaders, stored: boolean): ExplainVariant {
  return {
    vary: index.vary,
    values: index.vary.map((field) => ({ field, value: headerValue(h[field]) ?? null })),
    signature: index.vary.length === 0 ? '' : varySignature(index.vary, h),
    id: variantIdFor(index, key, h),
    generation: index.generation,
    stored,
    tracked: index.variants.length,
  }
}

// ---------------------------------------------------------------------------------------------
// The stored entry
// ---------------------------------------------------------------------------------------------

function describeEntry(entry: CacheEntry, id: string, cache: RouteCache, now: number): ExplainEntry {
  const ageMs = currentAgeMs(entry.initialAgeMs, entry.responseTime, now)
  const fresh = entry.staleAt > now
  const tags = entry.tags
  return {
    id,
    key: entry.key,
    status: entry.status,
    storedAt: new Date(entry.responseTime).toISOString(),
    // As deliver computes the Age field.
    ageS: Math.floor(ageMs / 1000),
    lifetimeS: seconds(lifetimeMs(entry)),
    fresh,
    freshForS: fresh ? seconds(entry.staleAt - now) : null,
    staleSinceS: fresh ? null : seconds(now - entry.staleAt),
    staleWhileRevalidate: stalewindow(entry, entry.swrUntil, !entry.noStale && !entry.noCache, now),
    staleIfError: stalewindow(entry, entry.sieUntil, !entry.noStale, now),
    staleIfDisconnected:
      cache.staleIfDisconnectedMs > 0
        ? stalewindow(entry, entry.staleAt + cache.staleIfDisconnectedMs, !entry.noStale && !entry.noCache, now)
        : null,
    mustRevalidate: entry.noStale,
    noCache: entry.noCache,
    etag: entry.etag ?? null,
    lastModified: entry.lastModified ?? null,
    cacheControl: storedField(entry, 'cache-control') ?? null,
    vary: entry.vary,
    bodyBytes: entry.body.length,
    sizeBytes: entry.size,
    tags: tags === undefined || tags.length === 0 ? null : tags,
    expiresAt: new Date(entry.expiresAt).toISOString(),
    expiresInS: seconds(Math.max(0, entry.expiresAt - now)),
  }
}

/** The freshness lifetime the entry was stored with: its age at storing plus what was left of it then. */
function lifetimeMs(entry: CacheEntry): number {
  return entry.staleAt - entry.responseTime + entry.initialAgeMs
}

function stalewindow(entry: CacheEntry, until: number, allowed: boolean, now: number): ExplainWindow | null {
  const length = until - entry.staleAt
  if (length <= 0) return null
  return { seconds: seconds(length), leftS: seconds(Math.max(0, until - Math.max(now, entry.staleAt))), allowed }
}

function storedField(entry: CacheEntry, name: string): string | undefined {
  let value: string | undefined
  for (const [n, v] of entry.headers) if (n === name) value = value === undefined ? v : `${value}, ${v}`
  return value
}

/** ms → s, to the ms. */
function seconds(ms: number): number {
  return Math.round(ms) / 1000
}

/** For sentences: whole seconds, or tenths below ten. */
function s(ms: number): string {
  const sec = ms / 1000
  return `${sec < 10 ? Math.round(sec * 10) / 10 : Math.round(sec)} s`
}

// ---------------------------------------------------------------------------------------------
// The decision
// ---------------------------------------------------------------------------------------------

function errorDecision(action: 'reject' | 'no-route' | 'only-if-cached', err: GatewayError, why: string, notes: string[] = []): ExplainDecision {
  return {
    action,
    cacheStatus: [],
    status: err.status,
    origin: 'none',
    conditional: null,
    reason: action === 'only-if-cached' ? 'ONLY_IF_CACHED' : null,
    error: { code: err.code, message: err.message },
    why,
    notes,
  }
}

/**
 * When and with what freshness the response was stored, for sentences: `stored 42 s ago with a
 * freshness lifetime of 60 s (Cache-Control: max-age=60)`; its age on arrival when it had one
 * worth telling (an Age from the origin or a cache before it, a Date well in the past).
 */
function storedWith(entry: CacheEntry, now: number): string {
  const cc = storedField(entry, 'cache-control')
  const arrived = entry.initialAgeMs >= 2_000 ? `, ${s(entry.initialAgeMs)} old on arrival,` : ''
  return `stored ${s(now - entry.responseTime)} ago${arrived} with a freshness lifetime of ${s(lifetimeMs(entry))}${cc === undefined ? '' : ` (Cache-Control: ${cc})`}`
}

/** What the pipeline's serve() does with the plan decide() made, told instead of done. */
function serveDecision(
  rt: Runtime,
  ctx: RequestContext,
  cache: RouteCache,
  key: CacheKey,
  found: Lookup,
  plan: Plan,
  rd: RequestDirectives,
  now: number,
  marked: string | undefined,
): ExplainDecision {
  const h = ctx.req.headers
  const notes: string[] = []
  let reason: Reason | null = null
  if (found.storeError !== undefined) {
    reason = 'STORAGE_ERROR'
    notes.push(`the store failed to answer (${errorText(found.storeError)}): corral goes on as if nothing were stored`)
  }
  if (h.authorization !== undefined) {
    notes.push(
      'the request carries Authorization: it may be answered from a stored response, but a response to it is stored only when the origin marks it public, s-maxage or must-revalidate (RFC 9111 §3.5)',
    )
  }
  const base = { conditional: null, reason, error: null }
  switch (plan.kind) {
    case 'fresh': {
      const e = plan.entry
      clientConditionals(ctx, e, notes)
      earlyRefresh(cache, e, now, notes)
      return {
        ...base,
        action: 'hit',
        cacheStatus: ['HIT'],
        status: answerStatus(ctx, e),
        origin: 'none',
        why: `${storedWith(e, now)}: fresh for ${s(e.staleAt - now)} more, so corral answers from the cache (HIT)`,
        notes,
      }
    }
    case 'serve-stale': {
      const e = plan.entry
      clientConditionals(ctx, e, notes)
      return {
        ...base,
        action: 'stale',
        cacheStatus: ['STALE'],
        status: answerStatus(ctx, e),
        origin: 'none',
        why: `${storedWith(e, now)}: stale for ${s(now - e.staleAt)}, within the request's max-stale, so corral answers with the stale copy (STALE)`,
        notes,
      }
    }
    case 'stale-while-revalidate': {
      const e = plan.entry
      clientConditionals(ctx, e, notes)
      notes.push(
        `if no refresh of it is running yet, this request starts one in the background (STALE), ${e.etag !== undefined || e.lastModified !== undefined ? 'conditional' : 'unconditional'}; while one runs, requests get UPDATING`,
      )
      return {
        ...base,
        action: 'stale',
        cacheStatus: ['STALE', 'UPDATING'],
        status: answerStatus(ctx, e),
        origin: 'background',
        conditional: nonEmpty(revalidationHeaders(e)),
        why: `${storedWith(e, now)}: stale for ${s(now - e.staleAt)}, within stale-while-revalidate for ${s(e.swrUntil - now)} more, so corral answers with the stale copy at once and refreshes it in the background`,
        notes,
      }
    }
    case 'revalidate': {
      const e = plan.entry
      const cause = revalidateCause(e, rd, plan.byRequest, now)
      afterOrigin(cache, e, rd, now, marked, notes)
      return {
        ...base,
        action: 'revalidate',
        cacheStatus: ['REVALIDATED', 'EXPIRED'],
        status: null,
        origin: 'conditional',
        conditional: revalidationHeaders(e),
        why: `${storedWith(e, now)}: ${cause}, so corral asks the origin whether it changed (REVALIDATED on 304, EXPIRED when a new response comes)`,
        notes,
      }
    }
    case 'fetch': {
      if (h.range !== undefined && cache.rangeOnMiss === 'pass') {
        return {
          ...base,
          action: 'bypass',
          cacheStatus: ['BYPASS'],
          status: null,
          origin: 'pass',
          reason: 'PARTIAL',
          why: `${plan.stale === undefined ? 'nothing usable is stored' : 'the stored copy may not be used'} and the route passes Range requests on a miss (rangeOnMiss: pass), so corral forwards the request as it is (BYPASS)`,
          notes,
        }
      }
      const e = plan.stale
      afterOrigin(cache, e, rd, now, marked, notes)
      if (e === undefined) {
        const what = found.varyMiss
          ? 'responses for this URI are stored, but not the variant this request selects'
          : found.storeError !== undefined
            ? 'the store could not be read'
            : 'nothing is stored for this key'
        return {
          ...base,
          action: 'fetch',
          cacheStatus: ['MISS'],
          status: null,
          origin: 'full',
          reason: reason ?? (marked === undefined ? null : 'HIT_FOR_MISS'),
          why: `${what}, so corral fetches it from the origin (MISS)`,
          notes,
        }
      }
      return {
        ...base,
        action: 'fetch',
        cacheStatus: ['EXPIRED'],
        status: null,
        origin: 'full',
        reason: reason ?? (marked === undefined ? null : 'HIT_FOR_MISS'),
        why: `${storedWith(e, now)}: ${revalidateCause(e, rd, plan.byRequest, now)}, and it has no validator (ETag, Last-Modified), so corral fetches it again in full (EXPIRED)`,
        notes,
      }
    }
    case 'unsatisfiable': {
      const err = new GatewayError('CORRAL_ERR_ONLY_IF_CACHED', 'only-if-cached: nothing usable is stored')
      const e = found.entry
      const what = e === undefined ? 'nothing is stored for it' : `the stored copy may not be used (${revalidateCause(e, rd, false, now)})`
      return errorDecision('only-if-cached', err, `the request says only-if-cached and ${what}: corral would answer 504 without asking the origin`, notes)
    }
  }
}

/** The fields in the order people read them (JSON keeps insertion order). */
function inOrder(d: ExplainDecision): ExplainDecision {
  const { action, cacheStatus, status, origin, conditional, reason, error, why, notes } = d
  return { action, cacheStatus, status, origin, conditional, reason, error, why, notes }
}

/** Why a stored entry cannot answer as it is. */
function revalidateCause(e: CacheEntry, rd: RequestDirectives, byRequest: boolean, now: number): string {
  if (rd.noCache && byRequest) return 'the request says no-cache (validate before use)'
  if (byRequest) {
    const age = currentAgeMs(e.initialAgeMs, e.responseTime, now)
    if (rd.maxAge !== undefined && age > rd.maxAge * 1000) return `it is older (${s(age)}) than the request's max-age=${rd.maxAge}`
    if (rd.minFresh !== undefined) return `it is fresh for less than the request's min-fresh=${rd.minFresh}`
    return 'the request does not accept it as it is'
  }
  const fresh = e.staleAt > now
  if (e.noCache && fresh) return 'the response said no-cache: it is validated before every use'
  const stale = `stale for ${s(now - e.staleAt)}`
  if (e.noStale) return `${stale}, and must-revalidate (or s-maxage) forbids serving it stale`
  if (e.noCache) return `${stale}, and the response said no-cache`
  if (e.swrUntil > e.staleAt) return `${stale}, past its stale-while-revalidate window`
  return stale
}

/** What happens around an origin request: hit-for-miss, coalescing, storing, a stale copy on failure. */
function afterOrigin(cache: RouteCache, stale: CacheEntry | undefined, rd: RequestDirectives, now: number, marked: string | undefined, notes: string[]): void {
  if (marked !== undefined) {
    notes.push(`this key recently gave a response that could not be shared (${marked === '' ? 'hit-for-miss' : marked}): the request fetches alone, without waiting for others`)
  } else if (cache.coalesce.lock === 'off') {
    notes.push('coalescing is off for this route: every request fetches on its own')
  } else {
    notes.push(
      `concurrent requests for this key share one origin request (${cache.coalesce.lock === 'distributed' ? 'across the fleet' : 'in this process'}); one already in flight would be joined`,
    )
  }
  if (rd.noStore) notes.push('the request says no-store: the answer is not stored')
  if (stale === undefined) return
  const onError = canServeStaleOnError(stale, rd, now)
  const disconnected = canServeStaleDisconnected(stale, cache.staleIfDisconnectedMs, now)
  if (onError) notes.push('if the origin fails (5xx, unreachable, timeout), the stale copy answers instead (stale-if-error)')
  else if (disconnected) notes.push('if the origin cannot be reached, times out or drops the connection, the stale copy answers instead (staleIfDisconnected); a 5xx is passed on')
  else notes.push('if the origin fails, the client gets the error: no stale-serving window allows the stored copy')
}

/**
 * Why the key is marked hit-for-miss (a request for it would fetch alone), or undefined: this
 * process's mark, else, for a route coalescing across the fleet, the one Redis keeps next to the
 * key, which a request would learn when it asks for the lock. Redis out of reach: no mark, as a
 * request would then fetch without the fleet lock anyway.
 */
async function hitForMissMark(rt: Runtime, cache: RouteCache, key: CacheKey, now: number): Promise<string | undefined> {
  const local = rt.hitForMiss.why(key.id, now)
  const redis = rt.redis
  if (local !== undefined || redis === undefined || !redis.available || cache.coalesce.lock !== 'distributed') return local
  try {
    const reason = await redis.run((c) => c.get(redis.key(key.id, 'h')))
    return reason ?? undefined
  } catch {
    return undefined
  }
}

/** The status of an answer from the entry, client conditionals and ranges included (as deliver decides). */
function answerStatus(ctx: RequestContext, e: CacheEntry): number {
  const verdict = conditionalVerdict(ctx, e)
  if (verdict === 'not-modified') return 304
  if (verdict === 'precondition-failed') return 412
  if (ctx.req.headers.range !== undefined && ctx.method === 'GET' && e.status === 200) return 206
  return e.status
}

function conditionalVerdict(ctx: RequestContext, e: CacheEntry): ReturnType<typeof evaluatePreconditions> {
  const h = ctx.req.headers
  if (h['if-none-match'] === undefined && h['if-modified-since'] === undefined && h['if-match'] === undefined && h['if-unmodified-since'] === undefined) {
    return undefined
  }
  return evaluatePreconditions(h, { ...e, date: storedField(e, 'date') }, ctx.method)
}

function clientConditionals(ctx: RequestContext, e: CacheEntry, notes: string[]): void {
  const verdict = conditionalVerdict(ctx, e)
  if (verdict === 'not-modified') notes.push("the request's conditional matches the stored response: corral answers 304 Not Modified from the cache")
  else if (verdict === 'precondition-failed') notes.push("the request's precondition fails against the stored response: corral answers 412 from the cache")
  if (ctx.req.headers.range !== undefined && ctx.method === 'GET' && e.status === 200) notes.push('the range is cut from the stored response (206, or 416 when unsatisfiable)')
}

/**
 * The pipeline's early refresh, told: within the last `earlyRefresh` fraction of the lifetime a hit
 * may refresh the entry in the background, with a probability that grows to 1 at expiry.
 */
function earlyRefresh(cache: RouteCache, e: CacheEntry, now: number, notes: string[]): void {
  if (cache.earlyRefresh <= 0) return
  const windowMs = lifetimeMs(e) * cache.earlyRefresh
  const leftMs = e.staleAt - now
  if (windowMs > 0 && leftMs <= windowMs) notes.push(`within the route's early-refresh window: a hit now may refresh the entry in the background`)
}

function nonEmpty(r: Record<string, string>): Record<string, string> | null {
  return Object.keys(r).length === 0 ? null : r
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
