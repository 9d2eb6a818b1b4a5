/**
 * decide: what to do with what the lookup found, by RFC 9111 §4 and RFC 5861. Pure: the entry,
 * the request's directives and the clock in, a plan out.
 */
import { currentAgeMs } from '../policy/freshness.js'
import type { RequestDirectives } from '../policy/types.js'
import type { CacheEntry } from '../store/types.js'

export type Plan =
  | { readonly kind: 'fresh'; readonly entry: CacheEntry } //                   HIT
  | { readonly kind: 'stale-while-revalidate'; readonly entry: CacheEntry } //  STALE or UPDATING, refresh in background
  | { readonly kind: 'serve-stale'; readonly entry: CacheEntry } //             STALE: the request accepts it (max-stale)
  | { readonly kind: 'revalidate'; readonly entry: CacheEntry; readonly byRequest: boolean } // conditional fetch
  | { readonly kind: 'fetch'; readonly stale: CacheEntry | undefined; readonly byRequest: boolean } // MISS or EXPIRED
  | { readonly kind: 'unsatisfiable' } //                                       only-if-cached with nothing usable: 504

export const NO_DIRECTIVES: RequestDirectives = Object.freeze({ noCache: false, noStore: false, onlyIfCached: false })

export function decide(entry: CacheEntry | undefined, rd: RequestDirectives, now: number): Plan {
  if (entry === undefined) return rd.onlyIfCached ? { kind: 'unsatisfiable' } : { kind: 'fetch', stale: undefined, byRequest: false }

  // RFC 9111 §5.2.1.4: request no-cache: the stored response must be validated first.
  if (rd.noCache && !rd.onlyIfCached) return validate(entry, true)

  const ageMs = currentAgeMs(entry.initialAgeMs, entry.responseTime, now)
  const freshLeftMs = entry.staleAt - now
  let requestForbidsFresh = false
  if (rd.maxAge !== undefined && ageMs > rd.maxAge * 1000) requestForbidsFresh = true // §5.2.1.1
  if (rd.minFresh !== undefined && freshLeftMs < rd.minFresh * 1000) requestForbidsFresh = true // §5.2.1.3
  if (freshLeftMs > 0 && !entry.noCache && !requestForbidsFresh) return { kind: 'fresh', entry }

  if (!entry.noStale && !entry.noCache) {
    if (!requestForbidsFresh && freshLeftMs <= 0) {
      // §5.2.1.2: max-stale lets the client accept a stale response (never one that must revalidate).
      if (rd.maxStale !== undefined && now - entry.staleAt <= rd.maxStale * 1000) return { kind: 'serve-stale', entry }
      // RFC 5861 §3: within the window, serve stale at once and refresh in the background.
      if (now < entry.swrUntil) return { kind: 'stale-while-revalidate', entry }
    }
  }
  if (rd.onlyIfCached) return { kind: 'unsatisfiable' } // §5.2.1.7
  return validate(entry, requestForbidsFresh)
}

function validate(entry: CacheEntry, byRequest: boolean): Plan {
  if (entry.etag !== undefined || entry.lastModified !== undefined) return { kind: 'revalidate', entry, byRequest }
  return { kind: 'fetch', stale: entry, byRequest }
}

/** May this stale entry answer an origin failure (RFC 5861 §4, request stale-if-error too)? */
export function canServeStaleOnError(entry: CacheEntry, rd: RequestDirectives, now: number): boolean {
  if (entry.noStale) return false
  if (now < entry.sieUntil) return true
  // A no-cache entry gives way to its own stale-if-error only, as it does to no max-stale.
  if (entry.noCache) return false
  return rd.staleIfError !== undefined && now - entry.staleAt <= rd.staleIfError * 1000
}

/**
 * May this entry answer a connection-level failure (the origin unreachable, too slow, or gone
 * before a whole response)? RFC 9111 §4.2.4 lets a cache that is "disconnected" serve stale
 * without the origin's or the client's permission; corral bounds it to `windowMs` past staleness
 * (the route's staleIfDisconnected, 0: off). Never for a response that forbade stale serving:
 * must-revalidate, proxy-revalidate, s-maxage (§5.2.2.2, §5.2.2.8, §5.2.2.10) or unqualified
 * no-cache (§4.2.4 names it among the directives that prohibit a stale response). Windows are
 * half-open, like every other: at staleAt + windowMs it is over.
 */
export function canServeStaleDisconnected(entry: CacheEntry, windowMs: number, now: number): boolean {
  if (windowMs <= 0 || entry.noStale || entry.noCache) return false
  return now < entry.staleAt + windowMs
}
