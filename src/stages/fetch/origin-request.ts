/**
 * What a cache fetch sends to the origin, captured from the client's request when the fetch is
 * planned, so that the fetch can outlive the client (it may be a flight's leader, or a
 * background refresh).
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Route, RouteCache } from '../../config/types.js'
import type { RequestContext } from '../../context.js'
import { HOP_BY_HOP } from '../../policy/headers.js'
import type { RequestDirectives } from '../../policy/types.js'
import type { CacheEntry, Lease, VaryIndex } from '../../store/types.js'
import { NO_DIRECTIVES } from '../decide.js'
import type { CacheKey } from '../key.js'

export interface FetchInput {
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
  /** Held fleet-wide by a flight's leader: what it stores goes in under the lease. */
  readonly lease?: Lease
}

export function fetchInput(
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
    // What was keyed is what is asked for: two requests that share an entry are one request to the origin.
    url: key.target,
    originHeaders: originRequestHeaders(ctx, route.cache as RouteCache),
    stale,
    revalidate: revalidate && stale !== undefined,
    index,
  }
}

/**
 * The request the cache sends: the client's fields minus hop-by-hop, Host (the upstream's is
 * used, as nginx does), the client's conditionals and ranges (the cache wants the whole object
 * and answers those itself) and the fields that would let a client change the origin's answer
 * without changing the key (the route's `notForwarded`: src/policy/unkeyed.ts), plus Via and
 * X-Forwarded-* of corral's own.
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

function originRequestHeaders(ctx: RequestContext, cache: RouteCache): Record<string, string | string[]> {
  const src = ctx.req.headers
  const out: Record<string, string | string[]> = {}
  const connection = src.connection
  const named = connection === undefined ? undefined : connection.toLowerCase().split(',').map((s) => s.trim())
  for (const name in src) {
    const value = src[name]
    if (value === undefined || NOT_FORWARDED.has(name) || cache.notForwarded.has(name) || named?.includes(name) === true) continue
    out[name] = value
  }
  const client = ctx.req.socket.remoteAddress ?? ''
  const prior = src['x-forwarded-for']
  out['x-forwarded-for'] = prior === undefined ? client : `${String(prior)}, ${client}`
  out['x-forwarded-proto'] = 'http'
  // The authority the request was keyed under (an absolute-form target's, over Host).
  out['x-forwarded-host'] = ctx.host
  const via = `${ctx.req.httpVersion} corral`
  out.via = src.via === undefined ? via : `${src.via}, ${via}`
  return out
}
