/**
 * pass: requests that must not touch the cache (other methods, routes with caching off,
 * bypass rules, WebSocket upgrades) stream straight to the origin through http-proxy-3,
 * bodies both ways, with X-Forwarded-* set and hop-by-hop fields dropped.
 */
import { Agent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import type { Duplex } from 'node:stream'
import { Transform } from 'node:stream'
import type { IncomingMessage } from 'node:http'
import { createProxyServer } from 'http-proxy-3'
import type { ProxyServer } from 'http-proxy-3'
import type { Route, ServerLimits, Upstream } from '../config/types.js'
import type { RequestContext } from '../context.js'
import { GatewayError } from '../errors.js'
import type { GatewayLog } from '../log.js'
import type { Metrics } from '../metrics.js'
import type { Reason } from '../status.js'
import { reasonDetail, CACHE_NAME } from './deliver.js'
import { isUnsafe } from './invalidate.js'
import { forwardInterim, respondError } from './respond.js'

/**
 * Told of the origin's response to an unsafe request when its head arrives, before the client sees
 * it and before its fields are changed for the client (its body has not been read yet).
 */
export type UnsafeResponseHook = (ctx: RequestContext, response: IncomingMessage) => void

/**
 * The request's context, kept on the request itself for the proxyRes handler. (A WeakMap keyed
 * by requests cost a third of the pass-through throughput in GC: measured.)
 */
const CONTEXT = Symbol('corral.context')
/** The origin's response, once its head has arrived: http-proxy-3 pipes it to the client. */
const ANSWER = Symbol('corral.answer')
type PassRequest = IncomingMessage & { [CONTEXT]?: RequestContext; [ANSWER]?: IncomingMessage }

export class PassProxy {
  private readonly proxy: ProxyServer
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 })
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 })

  constructor(
    private readonly limits: ServerLimits,
    private readonly log: GatewayLog,
    private readonly onUnsafeResponse: UnsafeResponseHook,
    private readonly metrics?: Metrics,
  ) {
    this.proxy = createProxyServer({ xfwd: true, ws: true, changeOrigin: true })
    // Errors are handled per request (the callback below); this keeps an unhandled 'error' from crashing.
    this.proxy.on('error', () => undefined)
    this.proxy.on('proxyReq', (proxyReq, _req, res) => {
      proxyReq.on('information', (info) => forwardInterim(res, info.statusCode, info.headers))
    })
    this.proxy.on('proxyRes', (proxyRes, req, res) => {
      // RFC 9110 §7.6.1: fields named in Connection are hop-by-hop too.
      for (const name of connectionTokens(proxyRes.headers.connection)) delete proxyRes.headers[name]
      for (const name of RESPONSE_HOP_BY_HOP) delete proxyRes.headers[name]
      ;(req as PassRequest)[ANSWER] = proxyRes
      const ctx = (req as PassRequest)[CONTEXT]
      if (ctx?.route !== undefined) this.metrics?.originResponded(ctx.route.upstream.name, proxyRes.statusCode ?? 0, ctx.startedAt)
      // Before the fields below are changed for the client: a POST answer may be stored from them.
      if (ctx !== undefined && isUnsafe(ctx.method)) this.onUnsafeResponse(ctx, proxyRes)
      // http-proxy copies the origin's fields over ours: keep our X-Cache-Status, append our Cache-Status member.
      delete proxyRes.headers['x-cache-status']
      const upstream = proxyRes.headers['cache-status']
      if (upstream !== undefined) proxyRes.headers['cache-status'] = `${String(upstream)}, ${String(res.getHeader('cache-status'))}`
      // http-proxy-3 pipes the body on; when the origin breaks off mid-body the pipe just stops, and
      // the client would wait for bytes that never come. Cut the client off too, so it sees the break.
      // (When the client left first, http-proxy-3 ended the origin request itself: nothing to report.)
      proxyRes.once('close', () => {
        if (proxyRes.complete || res.writableEnded || res.destroyed) return
        if (ctx?.route === undefined) res.destroy()
        else this.failed(ctx, ctx.route.upstream, new Error('the origin broke off its response'))
      })
    })
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
    ;(req as PassRequest)[CONTEXT] = ctx
    // http-proxy-3's pipe may still write after the response was ended or destroyed on an origin
    // failure; node reports that as an 'error' on the response, which must not end the process.
    res.on('error', ignore)
    // http-proxy copies the request's fields as they are: drop the hop-by-hop ones first
    // (RFC 9110 §7.6.1) and add Via, which a gateway sends in every request it forwards (§7.6.3).
    for (const name of connectionTokens(req.headers.connection)) delete req.headers[name]
    for (const name of REQUEST_HOP_BY_HOP) delete req.headers[name]
    const via = `${req.httpVersion} corral`
    req.headers.via = req.headers.via === undefined ? via : `${req.headers.via}, ${via}`
    const fwd = reason === 'METHOD' ? 'method' : 'bypass'
    res.setHeader('x-cache-status', 'BYPASS')
    res.setHeader('cache-status', `${CACHE_NAME}; fwd=${fwd}; detail=${reasonDetail(reason)}`)
    const started = performance.now()
    res.once('close', () => {
      if (ctx.originMs === undefined) ctx.originMs = performance.now() - started
    })
    const chunked = length === undefined && req.headers['transfer-encoding'] !== undefined
    const buffer = chunked ? limitBody(req, this.limits.maxBodyBytes) : undefined
    buffer?.once('error', (err) => {
      respondError(ctx, err instanceof GatewayError ? err : new GatewayError('CORRAL_ERR_BAD_REQUEST', 'request body failed'), true)
      res.once('finish', () => req.socket.destroy())
    })
    this.proxy.web(
      req,
      res,
      {
        target: upstream.url,
        agent: upstream.url.protocol === 'https:' ? this.httpsAgent : this.agent,
        proxyTimeout: upstream.headersTimeoutMs,
        buffer,
      },
      (err) => this.failed(ctx, upstream, err),
    )
  }

  ws(req: IncomingMessage, socket: Duplex, head: Buffer, upstream: Upstream): void {
    const agent = upstream.url.protocol === 'https:' ? this.httpsAgent : this.agent
    this.proxy.ws(req, socket, head, { target: upstream.url, agent }, () => socket.destroy())
  }

  close(): void {
    this.proxy.close()
    this.agent.destroy()
    this.httpsAgent.destroy()
  }

  /**
   * A failure after the origin's head arrived. When part of the answer is on its way to the
   * client, cut the client off so that it sees the failure (true). When only the head arrived
   * (malformed framing, or silence), stop the pipe and clear what http-proxy-3 had set from it,
   * so that a clean 502/504 can follow (false).
   */
  private cutOff(ctx: RequestContext, upstream: Upstream, err: Error): boolean {
    const answer = (ctx.req as PassRequest)[ANSWER]
    if (answer === undefined) return false
    const { res } = ctx
    if (res.headersSent) {
      this.log.passFailed(err, { reqId: ctx.reqId, upstream: upstream.name })
      res.destroy()
      return true
    }
    answer.unpipe(res)
    answer.on('error', ignore)
    answer.destroy()
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    res.statusMessage = ''
    return false
  }

  private failed(ctx: RequestContext, upstream: Upstream, err: Error): void {
    // Told twice (the origin's response closed, then its request failed): answered already.
    if (ctx.res.writableEnded || ctx.res.destroyed) return
    this.metrics?.originFailed(upstream.name, err, (ctx.req as PassRequest)[ANSWER] !== undefined)
    if (this.cutOff(ctx, upstream, err)) return
    if (err instanceof GatewayError) {
      respondError(ctx, err, true)
      return
    }
    const code = (err as { code?: string }).code
    const timedOut = code === 'ECONNRESET' && ctx.res.headersSent === false && /timeout/i.test(err.message)
    const error =
      timedOut || code === 'ETIMEDOUT'
        ? new GatewayError('CORRAL_ERR_ORIGIN_TIMEOUT', `upstream ${upstream.name} timed out`, { cause: err })
        : new GatewayError('CORRAL_ERR_ORIGIN_UNREACHABLE', `upstream ${upstream.name} failed (${code ?? 'error'})`, {
            cause: err,
          })
    this.log.passFailed(err, { reqId: ctx.reqId, upstream: upstream.name })
    respondError(ctx, error, true)
  }
}

/**
 * Hop-by-hop fields http-proxy-3 would forward (RFC 9110 §7.6.1). Connection, Transfer-Encoding
 * and Upgrade are left to it: it frames the messages and handles upgrades itself.
 */
const REQUEST_HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer']
const RESPONSE_HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'proxy-authenticate', 'trailer']

function ignore(): void {}

const NO_TOKENS: readonly string[] = []

function connectionTokens(value: string | string[] | undefined): readonly string[] {
  // The common cases, without splitting: nothing, or only the options http-proxy-3 handles itself.
  if (value === undefined || value === 'keep-alive' || value === 'close') return NO_TOKENS
  const tokens: string[] = []
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = part.trim().toLowerCase()
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') tokens.push(name)
  }
  return tokens
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
