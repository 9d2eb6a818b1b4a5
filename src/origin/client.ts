/**
 * origin: one undici Pool per upstream, with the upstream's connect/headers/body timeouts.
 * Failures become GatewayErrors (502 unreachable or broken, 504 timed out) so that callers
 * decide between a stale copy and an error page without knowing undici's codes.
 */
import { Pool } from 'undici'
import type { Dispatcher } from 'undici'
import type { IncomingHttpHeaders } from 'node:http'
import type { Upstream } from '../config/types.js'
import { GatewayError } from '../errors.js'

export interface OriginRequest {
  readonly method: string
  /** Path and query as the client sent them; the upstream's base path is prepended here. */
  readonly path: string
  readonly headers: Record<string, string | string[]>
  readonly body?: Dispatcher.DispatchOptions['body']
  /** Interim (1xx) responses from the origin, such as 103 Early Hints. */
  readonly onInfo?: (status: number, headers: Record<string, string | string[]>) => void
}

export interface OriginResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Dispatcher.ResponseData['body']
  /** ms since the epoch when the request was sent and when the response head arrived (RFC 9111 §4.2.3). */
  readonly requestTime: number
  readonly responseTime: number
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])

export class OriginClient {
  private readonly pools = new Map<string, Pool>()

  /** What each pool was built from, to tell on reload which upstreams changed. */
  private readonly built = new Map<string, string>()

  constructor(upstreams: Iterable<Upstream>) {
    for (const upstream of upstreams) this.open(upstream)
  }

  /**
   * A reloaded config: new and changed upstreams get a pool of their own; the pools of changed and
   * removed ones close once the requests they carry are done (undici's close waits for them).
   */
  update(upstreams: Iterable<Upstream>): void {
    const keep = new Set<string>()
    for (const upstream of upstreams) {
      keep.add(upstream.name)
      if (this.built.get(upstream.name) === poolSpec(upstream)) continue
      const old = this.pools.get(upstream.name)
      this.open(upstream)
      void old?.close().catch(() => undefined)
    }
    for (const [name, pool] of this.pools) {
      if (keep.has(name)) continue
      this.pools.delete(name)
      this.built.delete(name)
      void pool.close().catch(() => undefined)
    }
  }

  private open(upstream: Upstream): void {
    this.pools.set(
      upstream.name,
      new Pool(upstream.origin, {
        connections: upstream.connections,
        connect: { timeout: upstream.connectTimeoutMs },
        headersTimeout: upstream.headersTimeoutMs,
        bodyTimeout: upstream.bodyTimeoutMs,
      }),
    )
    this.built.set(upstream.name, poolSpec(upstream))
  }

  async request(upstream: Upstream, req: OriginRequest): Promise<OriginResponse> {
    const pool = this.pools.get(upstream.name)
    if (pool === undefined) throw new Error(`no pool for upstream ${upstream.name}`)
    const requestTime = Date.now()
    // undici checks its timeouts on a coarse tick (about half a second); API timeouts are often
    // shorter, so the wait for the response head is timed here.
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), upstream.headersTimeoutMs)
    try {
      const res = await pool.request({
        method: req.method,
        path: upstream.basePath + req.path,
        headers: req.headers,
        body: req.body ?? null,
        signal: abort.signal,
        onInfo: req.onInfo === undefined ? undefined : (info) => req.onInfo?.(info.statusCode, info.headers),
      })
      return { status: res.statusCode, headers: res.headers, body: res.body, requestTime, responseTime: Date.now() }
    } catch (err) {
      if (abort.signal.aborted) {
        throw new GatewayError('CORRAL_ERR_ORIGIN_TIMEOUT', `upstream ${upstream.name} sent no response within ${upstream.headersTimeoutMs}ms`, {
          cause: err,
        })
      }
      throw toGatewayError(err, upstream)
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()))
  }
}

export function toGatewayError(err: unknown, upstream: Upstream): GatewayError {
  if (err instanceof GatewayError) return err
  const code = errorCode(err)
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new GatewayError('CORRAL_ERR_ORIGIN_TIMEOUT', `upstream ${upstream.name} timed out (${code})`, { cause: err })
  }
  return new GatewayError('CORRAL_ERR_ORIGIN_UNREACHABLE', `upstream ${upstream.name} failed (${code ?? 'error'})`, {
    cause: err,
  })
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code
  return undefined
}

function poolSpec(u: Upstream): string {
  return `${u.origin} ${u.connections} ${u.connectTimeoutMs} ${u.headersTimeoutMs} ${u.bodyTimeoutMs}`
}
