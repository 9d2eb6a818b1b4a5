/**
 * What the admin API does, apart from HTTP: the listener (server.ts) parses and authenticates,
 * a backend acts. A single process has a local backend over its runtime; the primary of
 * `--workers N` has one that asks its workers (src/workers/primary.ts), each of which answers
 * with its own local backend — so both modes run the same code for every call.
 */
import type { Runtime } from '../runtime.js'
import { PurgeIncomplete } from '../store/purge.js'
import { explain, type ExplainInput } from './explain.js'
import { purgeKind, purgeOrder, type PurgeKind, type PurgeRequest } from './purge.js'

export type AdminCall =
  | { readonly op: 'purge'; readonly requests: readonly PurgeRequest[] }
  | { readonly op: 'explain'; readonly input: ExplainInput }
  | { readonly op: 'ready' }
  | { readonly op: 'reload' }

/** An answer that is not a success, in the one error shape of the admin API. */
export interface AdminFailure {
  readonly status: number
  readonly code: string
  readonly message: string
  /** More to read: every problem of a refused config, say. */
  readonly details?: readonly string[]
}

export class AdminError extends Error {
  constructor(readonly failure: AdminFailure) {
    super(failure.message)
  }
}

export interface PurgeOutcome {
  /** Entries removed (hard) or marked stale (soft), over every purge of the call. */
  readonly purged: number
  readonly results: ReadonlyArray<PurgeRequest & { readonly kind: PurgeKind; readonly entries: number }>
}

export interface ReadyReport {
  readonly ready: boolean
  readonly config: string
  /** 'off' outside fleet mode; otherwise whether Redis answers now (reported, never making corral unready). */
  readonly redis: 'off' | 'up' | 'down'
  readonly breaker?: string
  readonly workers?: number
}

export interface ReloadOutcome {
  readonly reloaded: true
  readonly config: string
  /** Settings that differ from the running ones but take effect only after a restart (listeners, store…). */
  readonly restartNeeded: readonly string[]
  readonly workers?: number
}

export interface AdminBackend {
  call(call: AdminCall): Promise<unknown>
  metrics(): Promise<{ contentType: string; text: string }>
}

/** Reloads the runtime from its config source: resolves, or rejects with an AdminError saying why not. */
export type Reloader = () => Promise<ReloadOutcome>

export class LocalBackend implements AdminBackend {
  constructor(
    private readonly rt: Runtime,
    private readonly reloader: Reloader | undefined,
  ) {}

  call(call: AdminCall): Promise<unknown> {
    switch (call.op) {
      case 'purge':
        return this.purge(call.requests)
      case 'explain':
        return explain(this.rt, call.input)
      case 'ready':
        return Promise.resolve(this.ready())
      case 'reload':
        if (this.reloader === undefined) {
          throw new AdminError({ status: 409, code: 'reload-unavailable', message: 'this corral runs without a config file (quick mode): there is nothing to re-read' })
        }
        return this.reloader()
    }
  }

  async metrics(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.rt.metrics.registry.contentType, text: await this.rt.metrics.render() }
  }

  private ready(): ReadyReport {
    const redis = this.rt.redis
    if (redis === undefined) return { ready: true, config: this.rt.config.source, redis: 'off' }
    return { ready: true, config: this.rt.config.source, redis: redis.available ? 'up' : 'down', breaker: redis.breakerState }
  }

  private async purge(requests: readonly PurgeRequest[]): Promise<PurgeOutcome> {
    const results: Array<PurgeRequest & { kind: PurgeKind; entries: number }> = []
    let purged = 0
    for (const request of requests) {
      const kind = purgeKind(request)
      let entries: number
      try {
        entries = await this.rt.store.purge(purgeOrder(this.rt.config, request))
      } catch (err) {
        if (!(err instanceof PurgeIncomplete)) throw err
        this.rt.metrics.purged(kind, request.soft, err.entries)
        throw new AdminError({
          status: 503,
          code: 'purge-incomplete',
          message: `${err.message}; ${purged + err.entries} entries purged before this; retry when Redis is back`,
        })
      }
      this.rt.metrics.purged(kind, request.soft, entries)
      this.rt.log.root.info({ purge: kind, soft: request.soft, entries }, 'purged')
      purged += entries
      results.push({ ...request, kind, entries })
    }
    return { purged, results }
  }
}
