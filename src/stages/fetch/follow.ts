/**
 * A follower's answer: what the flight's leader (here or elsewhere in the fleet) came back with,
 * fitted to this request — the entry when it is this request's variant, a shared error, a stale
 * copy for a failure, or a fetch of its own when the answer was not for sharing.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { FlightOutcome } from '../../coalesce/types.js'
import type { RequestContext } from '../../context.js'
import { GatewayError } from '../../errors.js'
import { varySignature } from '../../policy/vary.js'
import type { Runtime } from '../../runtime.js'
import { underIndex } from '../../store/purge.js'
import type { CacheEntry, CacheRecord, VaryIndex } from '../../store/types.js'
import { decide } from '../decide.js'
import { deliver, deliverFill } from '../deliver.js'
import type { CacheKey } from '../key.js'
import { variantIdFor } from '../lookup.js'
import { respondError } from '../respond.js'
import { respondSharedError } from './leader.js'
import type { FetchInput } from './origin-request.js'
import { forwarded, type FetchPlan } from './result.js'
import { answerWithStale } from './stale-on-error.js'

export interface Follower {
  readonly rt: Runtime
  readonly ctx: RequestContext
  readonly input: FetchInput
  readonly plan: FetchPlan
  /** Join (or lead) the flight of the variant this request asks for; `index` when known. */
  rejoin(vary: readonly string[], index: VaryIndex | undefined): Promise<void>
  /** Fetch on its own, outside any flight. */
  alone(): Promise<void>
}

/** How far another instance's clock may be behind ours when we ask "was this fetched after I arrived?". */
const CLOCK_SKEW_MS = 1_000

export function follow(f: Follower, outcome: FlightOutcome): Promise<void> {
  const { ctx, input, plan } = f
  const stale = plan.stale
  switch (outcome.kind) {
    case 'entry':
      if (!variantMatches(outcome.entry, input.key, ctx.req.headers)) return f.rejoin(outcome.entry.vary, undefined)
      deliver(ctx, outcome.entry, outcome.cacheStatus, { ...forwarded(plan), fwdStatus: outcome.fwdStatus, collapsed: true })
      return Promise.resolve()
    case 'fill': {
      const { fill } = outcome
      if (!variantMatches(fill.head, input.key, ctx.req.headers)) return f.rejoin(fill.head.vary, undefined)
      const fwd = { ...forwarded(plan), fwdStatus: outcome.fwdStatus, collapsed: true }
      // A range is cut from the whole body, as for the followers in the leader's own process (they
      // are told of the entry, not of the fill): here the fill came from a sibling worker.
      if (ctx.req.headers.range !== undefined) {
        return fill.whole().then((body) => {
          if (body === undefined) return f.alone()
          deliver(ctx, { ...fill.head, body }, outcome.cacheStatus, fwd)
        })
      }
      // Too large to keep already: its start is gone, so this request fetches its own.
      return deliverFill(ctx, fill, outcome.cacheStatus, fwd).then((joined) => (joined ? undefined : f.alone()))
    }
    case 'found':
      return found(f, outcome.record)
    case 'shared-error': {
      const sameVariant =
        outcome.selector === input.key.selector && (outcome.vary.length === 0 || varySignature(outcome.vary, ctx.req.headers) === outcome.varySignature)
      if (!sameVariant) return f.rejoin(outcome.vary, undefined)
      respondSharedError(ctx, outcome, stale, input, plan, true)
      return Promise.resolve()
    }
    case 'not-shareable':
      if (answerWithStale(ctx, stale, input.reqDirectives, input.cache, { fwdStatus: outcome.originStatus, collapsed: true })) return Promise.resolve()
      return f.alone()
    case 'error':
      if (answerWithStale(ctx, stale, input.reqDirectives, input.cache, { error: outcome.error, collapsed: true })) return Promise.resolve()
      respondError(ctx, outcome.error)
      return Promise.resolve()
    case 'give-up':
      return f.alone()
    case 'timeout':
      return waitedTooLong(f)
  }
}

/** Another process stored the flight's record: the entry itself, or the vary index that leads to it. */
async function found(f: Follower, record: CacheRecord): Promise<void> {
  const { rt, ctx, input } = f
  let entry: CacheEntry | undefined
  let index: VaryIndex | undefined
  if (record.kind === 'vary') {
    index = record
    const variant = await rt.store.lookup(variantIdFor(record, input.key, ctx.req.headers))
    entry = variant?.kind === 'entry' ? underIndex(record, variant) : undefined
  } else {
    entry = record
  }
  if (entry === undefined || !variantMatches(entry, input.key, ctx.req.headers)) return f.rejoin(entry?.vary ?? index?.vary ?? [], index)
  if (!answers(entry, ctx)) return f.alone()
  deliver(ctx, entry, f.plan.stale === undefined ? 'MISS' : 'EXPIRED', { ...forwarded(f.plan), collapsed: true })
}

/**
 * A record found in the shared store answers this request when it was fetched after the request
 * arrived (what a follower waits for), or when it is fresh enough for the request anyway.
 */
function answers(entry: CacheEntry, ctx: RequestContext): boolean {
  const now = Date.now()
  const arrivedAt = now - (performance.now() - ctx.startedAt)
  if (entry.responseTime >= arrivedAt - CLOCK_SKEW_MS) return true
  return decide(entry, ctx.reqDirectives ?? { noCache: false, noStore: false, onlyIfCached: false }, now).kind === 'fresh'
}

/** The wait for the flight ran out: the route's `onTimeout` decides. */
function waitedTooLong(f: Follower): Promise<void> {
  const { rt, ctx, input, plan } = f
  const policy = input.cache.coalesce
  rt.counters.lockTimeouts++
  rt.log.coalesceTimeout({ keyId: input.key.id, waitedMs: Math.round(ctx.lockWaitMs ?? 0), onTimeout: policy.onTimeout })
  ctx.reason ??= 'LOCK_TIMEOUT'
  const stale = plan.stale
  if (policy.onTimeout !== 'fetch' && stale !== undefined && !stale.noStale && !stale.noCache) {
    deliver(ctx, stale, 'STALE', { fwd: 'stale', detail: 'lock-timeout' })
    return Promise.resolve()
  }
  if (policy.onTimeout === 'error') {
    respondError(ctx, new GatewayError('CORRAL_ERR_LOCK_TIMEOUT', `waited ${policy.waitTimeoutMs}ms for another request's fetch of this key`))
    return Promise.resolve()
  }
  return f.alone()
}

/** May a follower use the leader's entry: the same route selector and the same Vary values? */
function variantMatches(entry: CacheEntry, key: CacheKey, reqHeaders: IncomingHttpHeaders): boolean {
  if (entry.selector !== key.selector) return false
  return entry.vary.length === 0 || varySignature(entry.vary, reqHeaders) === entry.varySignature
}
