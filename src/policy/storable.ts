/**
 * May a shared cache store this response? (RFC 9111 §3.) Like Varnish's builtin.vcl: a list of
 * named rules, evaluated in order; the first to object names the Reason. Size is checked by the
 * store stage.
 */
import type { RouteCache } from '../config/types.js'
import type { Reason } from '../status.js'
import { HEURISTICALLY_CACHEABLE, statusRuleMs } from './freshness.js'
import type { Freshness, HeaderMap, RequestDirectives, ResponseDirectives } from './types.js'
import { hasVaryStar } from './vary.js'

export interface StoreInput {
  readonly method: string
  readonly reqHeaders: HeaderMap
  readonly reqDirectives: RequestDirectives
  readonly status: number
  readonly resHeaders: HeaderMap
  readonly directives: ResponseDirectives
  readonly route: RouteCache
  /** From freshnessFor: undefined when neither the origin nor the route gives a lifetime. */
  readonly freshness: Freshness | undefined
}

export type StoreRule = (x: StoreInput) => Reason | undefined

/**
 * Statuses whose caching requirements corral implements, for must-understand (RFC 9111 §5.2.2.3):
 * the heuristically cacheable ones and the redirects cacheable with explicit freshness.
 */
const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([...HEURISTICALLY_CACHEABLE, 302, 303, 307])

function isPresent(value: string | string[] | undefined): boolean {
  return value !== undefined && (typeof value === 'string' || value.length > 0)
}

/** RFC 9111 §3: the method must be cacheable; this version stores GET only (HEAD is served from GETs). */
export function methodIsGet(x: StoreInput): Reason | undefined {
  return x.method === 'GET' ? undefined : 'METHOD'
}

/** RFC 9111 §3.2, §5.2.2.3: must-understand limits storing to caches that implement the status's rules. */
export function understoodStatus(x: StoreInput): Reason | undefined {
  return x.directives.mustUnderstand && !UNDERSTOOD_STATUSES.has(x.status) ? 'STATUS' : undefined
}

/**
 * RFC 9111 §5.2.1.5 / §5.2.2.5: no-store in the request or the response. A must-understand response
 * with a status we understand ignores its no-store (§5.2.2.3: it is there for caches that do not).
 */
export function noStore(x: StoreInput): Reason | undefined {
  if (x.reqDirectives.noStore) return 'NO_STORE'
  if (x.directives.noStore && !(x.directives.mustUnderstand && UNDERSTOOD_STATUSES.has(x.status))) return 'NO_STORE'
  return undefined
}

/** RFC 9111 §5.2.2.7: unqualified private forbids a shared cache; `private="x"` only strips x (headers.ts). */
export function notPrivate(x: StoreInput): Reason | undefined {
  return x.directives.private === true ? 'PRIVATE' : undefined
}

/**
 * RFC 9111 §3.5: a shared cache stores a response to a request with Authorization only when the
 * response says so: public, s-maxage or must-revalidate.
 */
export function authorizationAllowed(x: StoreInput): Reason | undefined {
  if (x.reqHeaders.authorization === undefined) return undefined
  const d = x.directives
  return d.public || d.sMaxage !== undefined || d.mustRevalidate ? undefined : 'AUTHORIZATION'
}

/** A cookie set for one client must not be replayed to others: refuse, or (route `setCookie: strip`) store without it. */
export function noSetCookie(x: StoreInput): Reason | undefined {
  return x.route.setCookie === 'refuse' && isPresent(x.resHeaders['set-cookie']) ? 'SET_COOKIE' : undefined
}

/** RFC 9111 §4.1: a Vary of `*` never matches a later request, so storing it is pointless. */
export function noVaryStar(x: StoreInput): Reason | undefined {
  return hasVaryStar(x.resHeaders) ? 'VARY_STAR' : undefined
}

/** Partial content is not stored in this version (RFC 9111 §3.3 allows it, with range bookkeeping). */
export function notPartial(x: StoreInput): Reason | undefined {
  return x.status === 206 ? 'PARTIAL' : undefined
}

/**
 * Status rules: 1xx and 304 are never stored (interim; a 304 refreshes an entry, RFC 9111 §4.3.4);
 * a route status rule of 0 (exact code, else its class) means "never store", whatever the origin
 * says: the operator's word on their own origin wins. Otherwise RFC 9111 §3 lets a cache store any
 * final status it understands once the response has explicit freshness (max-age, s-maxage,
 * Expires, or a targeted field), so a 5xx is stored with explicit freshness from the origin, as
 * nginx, Traffic Server and httpd do, or with a positive route rule. Without either, a 5xx is not:
 * the route's `ttl` and heuristic freshness never reach 5xx (freshness.ts).
 */
export function cacheableStatus(x: StoreInput): Reason | undefined {
  if (x.status < 200 || x.status === 304) return 'STATUS'
  const rule = statusRuleMs(x.route, x.status)
  if (rule === 0) return 'STATUS'
  if (x.status >= 500 && rule === undefined && x.freshness?.source !== 'origin') return 'STATUS'
  return undefined
}

/**
 * A lifetime is needed, from the origin or the route. Without one, a response is still worth
 * storing when it says `no-cache` (unqualified) and has a validator: every use revalidates it
 * (RFC 9111 §5.2.2.4), which can be answered by a cheap 304.
 */
export function hasFreshness(x: StoreInput): Reason | undefined {
  if (x.freshness !== undefined) return undefined
  const hasValidator = isPresent(x.resHeaders.etag) || isPresent(x.resHeaders['last-modified'])
  if (!hasValidator) return 'NO_FRESHNESS'
  // Stored at lifetime 0 only to be revalidated. RFC 9111 §3 lets a response without explicit
  // freshness be stored when it says `public` (§5.2.2.9), or when its status is heuristically
  // cacheable; no-cache by itself does not make a 302 or a 201 storable.
  if (x.directives.public) return undefined
  return x.directives.noCache === true && HEURISTICALLY_CACHEABLE.has(x.status) ? undefined : 'NO_FRESHNESS'
}

/** In evaluation order. */
export const STORE_RULES: readonly StoreRule[] = [
  methodIsGet,
  noStore,
  notPrivate,
  authorizationAllowed,
  noSetCookie,
  noVaryStar,
  notPartial,
  understoodStatus,
  cacheableStatus,
  hasFreshness,
]

/** The first rule's objection, or undefined when the response may be stored. */
export function whyNotStorable(x: StoreInput): Reason | undefined {
  for (const rule of STORE_RULES) {
    const reason = rule(x)
    if (reason !== undefined) return reason
  }
  return undefined
}
