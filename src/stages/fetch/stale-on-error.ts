/**
 * The one stale-on-error answer: when the origin fails (or a flight's leader shares its failure),
 * a stale entry that may answer errors (RFC 5861 §4, request stale-if-error) is served instead.
 */
import type { RequestContext } from '../../context.js'
import type { RequestDirectives } from '../../policy/types.js'
import type { CacheEntry } from '../../store/types.js'
import { canServeStaleOnError } from '../decide.js'
import { deliver } from '../deliver.js'

/** RFC 5861 §4: the statuses stale-if-error may answer instead of. */
export function isErrorStatus(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504
}

/**
 * Serve `stale` for a failure (`fwdStatus`: the origin's error status; none for a failed
 * connection or a timeout). False when there is no stale entry, or it may not answer errors.
 */
export function answerWithStale(
  ctx: RequestContext,
  stale: CacheEntry | undefined,
  rd: RequestDirectives,
  failure: { readonly fwdStatus?: number; readonly collapsed?: boolean },
): boolean {
  if (stale === undefined) return false
  if (failure.fwdStatus !== undefined && !isErrorStatus(failure.fwdStatus)) return false
  if (!canServeStaleOnError(stale, rd, Date.now())) return false
  deliver(ctx, stale, 'STALE', { fwd: 'stale', fwdStatus: failure.fwdStatus, collapsed: failure.collapsed, detail: 'stale-if-error' })
  return true
}
