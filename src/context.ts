/** The per-request state that flows through the stages, and what the access line reports. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { LockRole } from './coalesce/types.js'
import type { Route } from './config/types.js'
import type { RequestDirectives } from './policy/types.js'
import type { CacheStatus, Reason } from './status.js'

export interface RequestContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly reqId: string
  /** performance.now() at arrival, for durations. */
  readonly startedAt: number
  /** Uppercased method as received. */
  readonly method: string
  /** Lowercased Host without a trailing dot. */
  readonly host: string
  /** Path as received, without the query. */
  readonly path: string
  /** Query without '?', '' when none. */
  readonly query: string
  route: Route | undefined
  /** Parsed lazily: most requests carry no Cache-Control. */
  reqDirectives: RequestDirectives | undefined
  cacheStatus: CacheStatus | undefined
  reason: Reason | undefined
  keyId: string | undefined
  lookupMs: number | undefined
  lockWaitMs: number | undefined
  /** The request's part in its flight, when it took part in one. */
  lockRole: LockRole | undefined
  originMs: number | undefined
}
