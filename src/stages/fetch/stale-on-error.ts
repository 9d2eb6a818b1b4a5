/**
 * The one stale-on-error answer: when the origin fails (or a flight's leader shares its failure),
 * a stale entry that may answer errors (RFC 5861 §4, request stale-if-error) is served instead;
 * failing that, when the failure is the connection's, one within the route's staleIfDisconnected
 * window (RFC 9111 §4.2.4, a disconnected cache).
 */
import type { RouteCache } from '../../config/types.js'
import type { RequestContext } from '../../context.js'
import type { GatewayError } from '../../errors.js'
import type { RequestDirectives } from '../../policy/types.js'
import type { CacheEntry } from '../../store/types.js'
import { canServeStaleDisconnected, canServeStaleOnError } from '../decide.js'
import { deliver } from '../deliver.js'

/** RFC 5861 §4: the statuses stale-if-error may answer instead of. */
export function isErrorStatus(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504
}

/**
 * The failures that leave corral "disconnected" (RFC 9111 §4.2.4): the origin could not be
 * reached, sent no response in time, or closed the connection before a whole response came. An
 * answer from the origin, a 5xx included, is not one: the origin is there and said something.
 */
export function isDisconnected(error: GatewayError): boolean {
  return error.code === 'CORRAL_ERR_ORIGIN_UNREACHABLE' || error.code === 'CORRAL_ERR_ORIGIN_TIMEOUT'
}

/**
 * Serve `stale` for a failure: `fwdStatus`, the origin's error status, or `error`, a failed
 * connection or a timeout. stale-if-error first (it says so in Cache-Status `detail`); then, for a
 * connection-level error only, the route's staleIfDisconnected window (`detail=stale-if-disconnected`).
 * False when there is no stale entry, or it may answer neither way.
 */
export function answerWithStale(
  ctx: RequestContext,
  stale: CacheEntry | undefined,
  rd: RequestDirectives,
  cache: RouteCache,
  failure: { readonly fwdStatus?: number; readonly error?: GatewayError; readonly collapsed?: boolean },
): boolean {
  if (stale === undefined) return false
  if (failure.fwdStatus !== undefined && !isErrorStatus(failure.fwdStatus)) return false
  const now = Date.now()
  let detail: 'stale-if-error' | 'stale-if-disconnected'
  if (canServeStaleOnError(stale, rd, now)) detail = 'stale-if-error'
  else if (failure.error !== undefined && isDisconnected(failure.error) && canServeStaleDisconnected(stale, cache.staleIfDisconnectedMs, now)) {
    detail = 'stale-if-disconnected'
  } else return false
  deliver(ctx, stale, 'STALE', { fwd: 'stale', fwdStatus: failure.fwdStatus, collapsed: failure.collapsed, detail })
  return true
}
