/**
 * origin: one undici Pool per upstream, with the upstream's connect/headers/body timeouts.
 * Failures become GatewayErrors (502 unreachable or broken, 504 timed out) so that callers
 * decide between a stale copy and an error page without knowing undici's codes.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { errors, Pool, util } from 'undici'
import type { Dispatcher } from 'undici'
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
  readonly body: Readable
  /** ms since the epoch when the request was sent and when the response head arrived (RFC 9111 §4.2.3). */
  readonly requestTime: number
  readonly responseTime: number
}

const headerNameToString = util.headerNameToString

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

  /**
   * One request through the upstream's pool, with undici's dispatcher API: no AbortController,
   * AbortSignal or async resource per request (on Node 20 these cost several µs each, plus GC),
   * one handler object and one timer. Resolves when the response head arrives; its body streams.
   */
  request(upstream: Upstream, req: OriginRequest): Promise<OriginResponse> {
    const pool = this.pools.get(upstream.name)
    if (pool === undefined) return Promise.reject(new Error(`no pool for upstream ${upstream.name}`))
    const handler = new OriginHandler(upstream, req)
    const response = new Promise<OriginResponse>((resolve, reject) => {
      handler.resolve = resolve
      handler.reject = reject
    })
    pool.dispatch({ method: req.method, path: upstream.basePath + req.path, headers: req.headers, body: req.body ?? null }, handler)
    return response
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

/**
 * The body of an origin response, fed by the handler below. Like undici's own BodyReadable: reading
 * resumes the connection, and destroying it before its end aborts the request (its connection is
 * closed, not reused), with an error unless one was given.
 */
class OriginBody extends Readable {
  /** The origin's response has ended: every byte of the body has been pushed. */
  complete = false

  constructor(
    private readonly resumeConnection: () => void,
    private readonly abort: (reason?: Error) => void,
  ) {
    super({ highWaterMark: 64 * 1024 })
  }

  override _read(): void {
    this.resumeConnection()
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const reason = err ?? (this.readableEnded ? null : new errors.RequestAbortedError())
    if (reason !== null) this.abort(reason)
    // Destroyed without an error by a reader that does not listen for one: nothing to report to.
    if (err === null && reason !== null && this.listenerCount('error') === 0) this.on('error', noop)
    // As undici does: a body destroyed before anyone listened (an error right after the head) reports
    // its error a turn later, so that the code that awaited the head can still attach its listener.
    if (reason !== null && this.listenerCount('error') === 0) setImmediate(callback, reason)
    else callback(reason)
  }
}

/**
 * undici's (legacy, unwrapped) dispatch handler for one origin request. The wait for the response
 * head is timed here: undici checks its own timeouts on a coarse tick (about half a second), and API
 * timeouts are often shorter. A request still queued for a connection when its time is up fails at
 * once, and is aborted when it would have been sent.
 */
class OriginHandler implements Dispatcher.DispatchHandler {
  resolve: ((response: OriginResponse) => void) | undefined = undefined
  reject: ((err: GatewayError) => void) | undefined = undefined
  private readonly requestTime = Date.now()
  private timer: NodeJS.Timeout | undefined
  private abort: ((reason?: Error) => void) | undefined = undefined
  /** Set when the head's time ran out before the request got a connection. */
  private timedOut: GatewayError | undefined = undefined
  private body: OriginBody | undefined = undefined

  constructor(
    private readonly upstream: Upstream,
    private readonly req: OriginRequest,
  ) {
    this.timer = setTimeout(headersTimedOut, upstream.headersTimeoutMs, this)
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.timedOut !== undefined) {
      abort(this.timedOut)
      return
    }
    this.abort = abort
  }

  /** The head took too long: fail with a 504, whether or not undici holds the request yet. */
  timeOut(): void {
    this.timer = undefined
    const err = new GatewayError(
      'CORRAL_ERR_ORIGIN_TIMEOUT',
      `upstream ${this.upstream.name} sent no response within ${this.upstream.headersTimeoutMs}ms`,
    )
    if (this.abort !== undefined) {
      // undici reports the abort through onError, with this error.
      this.abort(err)
      return
    }
    this.timedOut = err
    this.settle(err)
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void): boolean {
    if (statusCode < 200) {
      this.req.onInfo?.(statusCode, parseHeaders(rawHeaders) as Record<string, string | string[]>)
      return true
    }
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const body = new OriginBody(resume, this.abort as (reason?: Error) => void)
    this.body = body
    const resolve = this.resolve
    this.resolve = undefined
    this.reject = undefined
    resolve?.({ status: statusCode, headers: parseHeaders(rawHeaders), body, requestTime: this.requestTime, responseTime: Date.now() })
    return true
  }

  onData(chunk: Buffer): boolean {
    return (this.body as OriginBody).push(chunk)
  }

  onComplete(): void {
    const body = this.body
    if (body === undefined) return
    body.complete = true
    body.push(null)
  }

  onError(err: Error): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.body !== undefined) {
      // After the head: the body fails with undici's own error (a body timeout, a broken connection),
      // reported to whoever listens; as undici does, never as an uncaught exception.
      this.body.on('error', noop)
      this.body.destroy(err)
    } else {
      this.settle(toGatewayError(err, this.upstream))
    }
    const sent = this.req.body
    if (sent instanceof Readable && !sent.destroyed) {
      sent.on('error', noop)
      sent.destroy(err)
    }
  }

  private settle(err: GatewayError): void {
    const reject = this.reject
    this.resolve = undefined
    this.reject = undefined
    reject?.(err)
  }
}

function headersTimedOut(handler: OriginHandler): void {
  handler.timeOut()
}

function noop(): void {}

const NO_BYTES = Buffer.alloc(0)

/**
 * The whole body of an origin response that has arrived to its end before anyone read from it (a
 * small answer comes in the packet that brought its head), taken in one buffer: its writer can
 * send it with the head in one go instead of streaming it. Undefined for anything else (a body
 * still arriving, or one already being read): stream it.
 */
export function takeWholeBody(body: Readable): Buffer | undefined {
  if (!(body instanceof OriginBody) || !body.complete || body.readableFlowing !== null || body.destroyed) return undefined
  // Ended and not flowing: read() hands over everything buffered, and 'end' follows on its own.
  const data = body.read() as Buffer | null
  return data ?? NO_BYTES
}

/**
 * An undici raw head (name, value, …) as node's IncomingHttpHeaders: lower-case names, repeated
 * fields in arrays. Names come from undici's table of known field names when they are in it (one
 * string each, no copy, no case change); values are read as latin1.
 */
export function parseHeaders(raw: ReadonlyArray<Buffer | string>): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {}
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = headerNameToString(raw[i] as Buffer | string)
    const rawValue = raw[i + 1] as Buffer | string
    const value = typeof rawValue === 'string' ? rawValue : rawValue.toString('latin1')
    const prior = out[name]
    if (prior === undefined) out[name] = value
    else if (!Object.hasOwn(out, name)) Object.defineProperty(out, name, { value, enumerable: true, configurable: true, writable: true })
    else if (typeof prior === 'string') out[name] = [prior, value]
    else prior.push(value)
  }
  return out
}
