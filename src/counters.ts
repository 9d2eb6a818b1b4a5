/**
 * What the fetch path counts, kept in one place for the metrics endpoint to expose. Plain
 * numbers, incremented where things happen: no labels, nothing per key.
 */
import type { RequestContext } from './context.js'

export class Counters {
  /** Requests sent to origins on the cache path (fetches and revalidations, background ones included). */
  originFetches = 0
  /** Requests that waited for another request's fetch (a flight's followers). */
  coalesced = 0
  /** Flight leaders that fetched without the fleet lock: the fleet was unreachable, or the wait ran out. */
  lockFallbacks = 0
  /** Flight leaders that took the lock over after its holder's lease ran out. */
  lockTakeovers = 0
  /** Followers whose wait ran out (the route's onTimeout answered them). */
  lockTimeouts = 0
  /** Background refreshes started early, before expiry (earlyRefresh). */
  earlyRefreshes = 0
}

/**
 * Why a request was answered with a stale entry (stale-while-revalidate, stale-if-error, max-stale,
 * lock-timeout…: the Cache-Status detail deliver() was given), kept on its context until the
 * request is counted (src/metrics.ts). A property, not a WeakMap: only stale answers carry one.
 */
const STALE_DETAIL = Symbol('corral.staleDetail')
type Noted = RequestContext & { [STALE_DETAIL]?: string }

/** deliver()'s hook: this request is answered with a stale entry, for this reason. */
export function noteStaleServed(ctx: RequestContext, detail: string | undefined): void {
  ;(ctx as Noted)[STALE_DETAIL] = detail
}

export function staleDetail(ctx: RequestContext): string {
  return (ctx as Noted)[STALE_DETAIL] ?? 'stale'
}
