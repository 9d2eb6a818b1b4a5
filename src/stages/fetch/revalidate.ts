/**
 * The 304 path (RFC 9111 §4.3.3–4.3.4): a conditional fetch answered "not modified" refreshes the
 * stale entry's fields and freshness instead of replacing it, and, for a strong ETag, the sibling
 * variants that store the same one.
 */
import type { RequestContext } from '../../context.js'
import type { OriginResponse } from '../../origin/client.js'
import { parseResponseCacheControl } from '../../policy/cache-control.js'
import { notModifiedMatches } from '../../policy/conditional.js'
import { mergeRevalidated } from '../../policy/headers.js'
import type { Runtime } from '../../runtime.js'
import type { CacheEntry, VaryIndex } from '../../store/types.js'
import { refreshEntry, refreshSiblings } from '../store.js'
import { ownFields, safeStore, type FetchResult } from './result.js'
import type { FetchInput } from './origin-request.js'

type Refetch = (rt: Runtime, input: FetchInput, ctx: RequestContext | undefined) => Promise<FetchResult>

export async function revalidated(
  rt: Runtime,
  input: FetchInput,
  stale: CacheEntry,
  response: OriginResponse,
  ctx: RequestContext | undefined,
  refetch: Refetch,
): Promise<FetchResult> {
  const { key, cache } = input
  response.body.resume()
  // A 304 for another representation may not refresh this one: ask again, unconditionally.
  if (!notModifiedMatches(stale, response.headers)) return refetch(rt, { ...input, revalidate: false }, ctx)
  const refreshed = refreshEntry(key, stale, response, input.reqHeaders, input.reqDirectives, cache)
  if ('reason' in refreshed) {
    // The origin's new word (no-store, private…) forbids keeping the entry. The requester still
    // gets the stored body with the 304's fields, its Set-Cookie included; nobody else does.
    await Promise.resolve()
      .then(() => rt.store.delete(key.id))
      .catch(() => false)
    const merged = mergeRevalidated(stale.headers, response.headers)
    const directives = parseResponseCacheControl(merged.filter(([name]) => name === 'cache-control').map(([, value]) => value))
    return {
      kind: 'entry',
      entry: { ...stale, headers: merged },
      cacheStatus: 'REVALIDATED',
      fwdStatus: 304,
      stored: false,
      reason: refreshed.reason,
      own: ownFields(response.headers, directives, true),
      shareable: false,
    }
  }
  if (refreshed.requestForbids !== undefined) {
    // Only this request may not store (request no-store, Authorization): it gets the refreshed
    // response, and the entry stays as it was for everyone else.
    return { kind: 'entry', entry: refreshed.entry, cacheStatus: 'REVALIDATED', fwdStatus: 304, stored: false, reason: refreshed.requestForbids }
  }
  const notStored = await safeStore(rt, input, refreshed.entry)
  if (notStored === undefined && input.index !== undefined) refreshVariants(rt, input, input.index, response, refreshed.entry)
  return {
    kind: 'entry',
    entry: refreshed.entry,
    cacheStatus: 'REVALIDATED',
    fwdStatus: 304,
    stored: notStored === undefined,
    reason: notStored,
    own: ownFields(response.headers, refreshed.directives, true),
  }
}

/** The siblings a 304 also selects are refreshed off the client's path, like a background refresh. */
function refreshVariants(rt: Runtime, input: FetchInput, index: VaryIndex, head: OriginResponse, refreshed: CacheEntry): void {
  const job = refreshSiblings(rt.store, input.key, index, head, refreshed, input.cache).then(
    () => undefined,
    (err: unknown) => rt.log.storeFailed(err, { keyId: input.key.id }),
  )
  rt.background.add(job)
  void job.finally(() => rt.background.delete(job))
}
