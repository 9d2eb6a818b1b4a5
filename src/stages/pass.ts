/**
 * pass: requests that must not touch the cache (other methods, routes with caching off,
 * bypass rules) stream straight to the origin through undici's dispatcher (one Pool per origin,
 * as the cache's fills do in src/origin/client.ts), bodies both ways, with X-Forwarded-* set,
 * Via added and hop-by-hop fields dropped. WebSocket upgrades go through http-proxy-3.
 */
import { Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { EventEmitter } from 'node:events'
import type { Duplex, Readable } from 'node:stream'
import { Transform } from 'node:stream'
import { createProxyServer } from 'http-proxy-3'
import type { ProxyServer } from 'http-proxy-3'
import { errors, Pool, type Dispatcher } from 'undici'
import type { Route, ServerLimits, Upstream } from '../config/types.js'
import type { RequestContext } from '../context.js'
import { GatewayError } from '../errors.js'
import type { GatewayLog } from '../log.js'
import type { Metrics } from '../metrics.js'
import { parseHeaders, toGatewayError } from '../origin/client.js'
import { HOP_BY_HOP, namedInConnection } from '../policy/headers.js'
import type { Reason } from '../status.js'
import { reasonDetail, CACHE_NAME } from './deliver.js'
import { isUnsafe } from './invalidate.js'
import { fieldsForClient, forwardInterim, hiddenFields, respondError } from './respond.js'

/**
 * Told of the origin's response to an unsafe request when its head arrives, before the client sees
 * it (its body has not been read yet: it comes as 'data' events, then 'end', with `complete` set).
 */
export type UnsafeResponseHook = (ctx: RequestContext, response: IncomingMessage) => void

/**
 * What the unsafe-response hook is given: the parts of an IncomingMessage its readers use (status,
 * fields, the body as 'data' and 'end' events, `complete` once it all came), made only for unsafe
 * methods. The client's fields are built apart from these, which nothing here changes.
 */
class PassedResponse extends EventEmitter {
  complete = false

  constructor(
    readonly statusCode: number,
    readonly headers: IncomingHttpHeaders,
  ) {
    super()
  }
}

export class PassProxy {
  /** WebSocket upgrades only. */
  private readonly proxy: ProxyServer
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 })
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 })
  /** One Pool per origin and connect timeout; the other timeouts are the handler's own. */
  private readonly pools = new Map<string, Pool>()

  constructor(
    private readonly limits: ServerLimits,
    readonly log: GatewayLog,
    readonly onUnsafeResponse: UnsafeResponseHook,
    readonly metrics?: Metrics,
  ) {
    this.proxy = createProxyServer({ xfwd: true, ws: true, changeOrigin: true })
    // Errors are handled per upgrade (the callback in ws()); this keeps an unhandled 'error' from crashing.
    this.proxy.on('error', () => undefined)
  }

  web(ctx: RequestContext, route: Route, reason: Reason): void {
    ctx.cacheStatus = 'BYPASS'
    ctx.reason = reason
    const { req, res } = ctx
    const upstream = route.upstream
    const length = req.headers['content-length']
    if (length !== undefined && Number(length) > this.limits.maxBodyBytes) {
      respondError(ctx, new GatewayError('CORRAL_ERR_BODY_TOO_LARGE', `request body over ${this.limits.maxBodyBytes} bytes`), true)
      return
    }
    let body: Readable | null = null
    if (length === undefined) {
      if (req.headers['transfer-encoding'] !== undefined) {
        const counted = limitBody(req, this.limits.maxBodyBytes)
        // Before undici's own listener: the 413 is answered first, and undici's report of the same error finds it answered.
        counted.once('error', (err) => {
          respondError(ctx, err instanceof GatewayError ? err : new GatewayError('CORRAL_ERR_BAD_REQUEST', 'request body failed'), true)
          res.once('finish', () => req.socket.destroy())
        })
        body = counted
      }
    } else if (length !== '0') {
      // Streamed as it arrives; undici checks that it is as long as its Content-Length says.
      body = req
    }
    const handler = new PassHandler(this, ctx, upstream, cacheStatusFor(reason))
    res.once('close', handler.clientClosed)
    this.poolFor(upstream).dispatch({ method: ctx.method, path: upstream.basePath + originTarget(req.url ?? '/'), headers: originFields(req), body }, handler)
  }

  ws(req: IncomingMessage, socket: Duplex, head: Buffer, upstream: Upstream): void {
    const agent = upstream.url.protocol === 'https:' ? this.httpsAgent : this.agent
    this.proxy.ws(req, socket, head, { target: upstream.url, agent }, () => socket.destroy())
  }

  close(): void {
    this.proxy.close()
    this.agent.destroy()
    this.httpsAgent.destroy()
    for (const pool of this.pools.values()) void pool.destroy().catch(() => undefined)
    this.pools.clear()
  }

  /** A reloaded config: pools no upstream uses any more close once the requests they carry are done. */
  update(upstreams: Iterable<Upstream>): void {
    const used = new Set<string>()
    for (const upstream of upstreams) used.add(poolSpec(upstream))
    for (const [spec, pool] of this.pools) {
      if (used.has(spec)) continue
      this.pools.delete(spec)
      void pool.close().catch(() => undefined)
    }
  }

  private poolFor(upstream: Upstream): Pool {
    const spec = poolSpec(upstream)
    let pool = this.pools.get(spec)
    if (pool === undefined) {
      // Timeouts are timed by the handler, exactly: undici checks its own on a coarse tick.
      pool = new Pool(upstream.origin, { connections: 256, connect: { timeout: upstream.connectTimeoutMs }, headersTimeout: 0, bodyTimeout: 0 })
      this.pools.set(spec, pool)
    }
    return pool
  }

  /**
   * The exchange failed. When part of the answer is on its way to the client, cut the client off
   * so that it sees the failure; when nothing was sent yet, a clean 502 (504 for a timeout before
   * the head).
   */
  failed(ctx: RequestContext, upstream: Upstream, err: Error, afterHead: boolean): void {
    const { res } = ctx
    // The client left (and the origin request was aborted for it), or it has had its answer (a 413).
    if (res.writableEnded || res.destroyed) return
    this.metrics?.originFailed(upstream.name, err, afterHead)
    if (res.headersSent) {
      this.log.passFailed(new Error('the origin broke off its response', { cause: err }), { reqId: ctx.reqId, upstream: upstream.name })
      res.destroy()
      return
    }
    const error = afterHead
      ? new GatewayError('CORRAL_ERR_ORIGIN_UNREACHABLE', `upstream ${upstream.name} failed after its response head (${errorCode(err)})`, { cause: err })
      : toGatewayError(err, upstream)
    this.log.passFailed(err, { reqId: ctx.reqId, upstream: upstream.name })
    respondError(ctx, error, true)
  }
}

/**
 * undici's (legacy) dispatch handler for one passed-through request: the answer is written to the
 * client as it comes, with backpressure both ways. Timed here, exactly: the head must come within
 * the upstream's headersTimeout of the last byte of the request body sent, and the body must not
 * fall silent for longer than that (what a socket idle timeout of that length did before).
 */
class PassHandler implements Dispatcher.DispatchHandler {
  private readonly started = performance.now()
  private timer: NodeJS.Timeout | undefined
  private abort: ((reason?: Error) => void) | undefined = undefined
  /** Set when time ran out before the request got a connection. */
  private timedOut: Error | undefined = undefined
  private status = 0
  private statusText = ''
  private fields: string[] | undefined = undefined
  private resume: (() => void) | undefined = undefined
  private answer: PassedResponse | undefined = undefined
  private done = false

  constructor(
    private readonly proxy: PassProxy,
    private readonly ctx: RequestContext,
    private readonly upstream: Upstream,
    private readonly member: string,
  ) {
    this.timer = setTimeout(passTimedOut, upstream.headersTimeoutMs, this)
  }

  /** The client's response closed: finished, or the client left (then the origin request goes too). */
  readonly clientClosed = (): void => {
    this.ctx.originMs ??= performance.now() - this.started
    if (this.done) return
    this.done = true
    this.clearTimer()
    this.abort?.(new errors.RequestAbortedError())
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.timedOut !== undefined || this.done) {
      abort(this.timedOut ?? new errors.RequestAbortedError())
      return
    }
    this.abort = abort
  }

  /** Time is up: before the head a 504, after it the client is cut off (or a clean 502 when nothing was sent). */
  timeOut(): void {
    this.timer = undefined
    const err =
      this.fields === undefined
        ? new GatewayError('CORRAL_ERR_ORIGIN_TIMEOUT', `upstream ${this.upstream.name} sent no response within ${this.upstream.headersTimeoutMs}ms`)
        : new GatewayError('CORRAL_ERR_ORIGIN_TIMEOUT', `upstream ${this.upstream.name} sent nothing for ${this.upstream.headersTimeoutMs}ms`)
    if (this.abort !== undefined) {
      // undici reports the abort through onError, with this error.
      this.abort(err)
      return
    }
    this.timedOut = err
    this.onError(err)
  }

  onBodySent(): void {
    // The request body is still coming: the wait for the head starts from its last byte.
    this.timer?.refresh()
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void, statusText: string): boolean {
    const { ctx } = this
    if (statusCode < 200) {
      forwardInterim(ctx.res, statusCode, parseHeaders(rawHeaders))
      return true
    }
    this.timer?.refresh()
    const headers = parseHeaders(rawHeaders)
    this.proxy.metrics?.originResponded(this.upstream.name, statusCode, this.started)
    if (isUnsafe(ctx.method)) {
      // The hook reads these fields (and copies what it keeps); the client's are built apart from them.
      const answer = new PassedResponse(statusCode, headers)
      this.answer = answer
      this.proxy.onUnsafeResponse(ctx, answer as unknown as IncomingMessage)
    }
    this.status = statusCode
    this.statusText = statusText
    this.fields = fieldsForClient(headers, 'BYPASS', this.member, hiddenFields(ctx.route))
    this.resume = resume
    return true
  }

  onData(chunk: Buffer): boolean {
    this.timer?.refresh()
    this.answer?.emit('data', chunk)
    const { res } = this.ctx
    if (res.writableEnded || res.destroyed) return true
    if (!res.headersSent) this.writeHead()
    if (res.write(chunk)) return true
    // The client reads slower than the origin sends: undici pauses the connection until it drains.
    res.once('drain', this.drained)
    return false
  }

  onComplete(): void {
    this.clearTimer()
    this.done = true
    const answer = this.answer
    if (answer !== undefined) {
      answer.complete = true
      answer.emit('end')
    }
    const { res } = this.ctx
    if (res.writableEnded || res.destroyed) return
    if (!res.headersSent) this.writeHead()
    res.end()
  }

  onError(err: Error): void {
    this.clearTimer()
    this.done = true
    this.proxy.failed(this.ctx, this.upstream, err, this.fields !== undefined)
  }

  private readonly drained = (): void => {
    this.resume?.()
  }

  private writeHead(): void {
    const { res } = this.ctx
    // node sends the origin's reason phrase only to HTTP/1 clients, as http-proxy-3 did.
    if (this.statusText !== '') res.writeHead(this.status, this.statusText, this.fields)
    else res.writeHead(this.status, this.fields)
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}

/** Our Cache-Status member for each reason a request passes, made once (RFC 9211). */
const MEMBERS = new Map<Reason, string>()

function cacheStatusFor(reason: Reason): string {
  let member = MEMBERS.get(reason)
  if (member === undefined) {
    member = `${CACHE_NAME}; fwd=${reason === 'METHOD' ? 'method' : 'bypass'}; detail=${reasonDetail(reason)}`
    MEMBERS.set(reason, member)
  }
  return member
}

function passTimedOut(handler: PassHandler): void {
  handler.timeOut()
}

function errorCode(err: Error): string {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? code : err.message
}

/**
 * Request fields the origin gets: the client's without hop-by-hop ones and those named in
 * Connection (RFC 9110 §7.6.1), Host (undici sends the upstream's) and Expect (node answered
 * 100-continue already); with X-Forwarded-For/-Port/-Proto appended to and X-Forwarded-Host kept
 * or set, as http-proxy-3's xfwd does, and Via (RFC 9110 §7.6.3: a gateway adds it to every
 * request it forwards).
 */
function originFields(req: IncomingMessage): Record<string, string | string[]> {
  const src = req.headers
  const listed = namedInConnection(src)
  const out: Record<string, string | string[]> = {}
  for (const name in src) {
    const value = src[name]
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'host' || name === 'expect' || NOT_COPIED.has(name)) continue
    if (listed?.has(name) === true) continue
    out[name] = value
  }
  const host = src.host
  const xff = src['x-forwarded-for']
  const client = req.socket.remoteAddress ?? ''
  out['x-forwarded-for'] = xff === undefined || xff === '' ? client : `${String(xff)},${client}`
  const xfport = src['x-forwarded-port']
  const port = portOf(host)
  out['x-forwarded-port'] = xfport === undefined || xfport === '' ? port : `${String(xfport)},${port}`
  const xfproto = src['x-forwarded-proto']
  out['x-forwarded-proto'] = xfproto === undefined || xfproto === '' ? 'http' : `${String(xfproto)},http`
  const xfhost = src['x-forwarded-host']
  out['x-forwarded-host'] = xfhost === undefined || xfhost === '' ? (host ?? '') : xfhost
  const via = `${req.httpVersion} corral`
  out.via = src.via === undefined ? via : `${src.via}, ${via}`
  return out
}

/** Set by originFields itself, after the loop. */
const NOT_COPIED: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto', 'x-forwarded-host', 'via'])

/** The port a Host names, or 80 (corral's listeners speak plain HTTP). */
function portOf(host: string | undefined): string {
  const match = host === undefined ? null : /:(\d+)/.exec(host)
  return match?.[1] ?? '80'
}

/** What a plain origin-form target may hold and be sent as it came: no dot segment, nothing URL would encode. */
const PLAIN_TARGET = /^\/(?!\/)[\w\-.~!$&()*+,;=:@%/?]*$/
const DOT_SEGMENT = /\/\.|%2e/i

/**
 * The request target for the origin: path and query as the client sent them, normalized as a URL
 * parser does (dot segments resolved, unsafe characters encoded, an absolute form reduced to its
 * path) when they are anything but plain.
 */
function originTarget(target: string): string {
  if (PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target)) return target
  const url = new URL(target.startsWith('//') ? `http://base.invalid${target}` : target, 'http://base.invalid')
  return `${url.pathname}${url.search}`
}

/** A chunked request body counted on its way through: past the limit the request fails with 413. */
function limitBody(req: IncomingMessage, maxBytes: number): Transform {
  let bytes = 0
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length
      if (bytes > maxBytes) {
        callback(new GatewayError('CORRAL_ERR_BODY_TOO_LARGE', `request body over ${maxBytes} bytes`))
        return
      }
      callback(null, chunk)
    },
  })
  req.pipe(counter)
  return counter
}

function poolSpec(upstream: Upstream): string {
  return `${upstream.origin} ${upstream.connectTimeoutMs}`
}
