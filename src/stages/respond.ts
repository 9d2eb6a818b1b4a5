/**
 * Responses that do not come from a stored entry: error pages, origin responses streamed
 * through without being stored, and the origin's interim responses.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Route } from '../config/types.js'
import type { RequestContext } from '../context.js'
import type { GatewayError } from '../errors.js'
import { takeWholeBody } from '../origin/client.js'
import { HOP_BY_HOP, namedInConnection } from '../policy/headers.js'
import type { CacheStatus } from '../status.js'
import type { Forwarded } from './deliver.js'
import { cacheStatusMember } from './deliver.js'

/**
 * RFC 9110 §15.2: a proxy forwards interim responses to the client that asked, unless that client
 * speaks HTTP/1.0. node's server can send 102 and 103 (the latter only with a Link field) besides
 * the 100 it handles itself. Never throws: an interim response is only ever a hint.
 */
export function forwardInterim(res: ServerResponse, status: number, fields: Record<string, string | string[] | undefined>): void {
  if (res.headersSent || (status !== 102 && status !== 103) || res.req.httpVersion === '1.0') return
  if (status === 102) {
    res.writeProcessing()
    return
  }
  if (fields.link === undefined) return
  const hints: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(fields)) if (value !== undefined && !HOP_BY_HOP.has(name)) hints[name] = value
  hints.link = linkMembers(fields.link)
  try {
    res.writeEarlyHints(hints)
  } catch {
    // node accepts only Link values it can check with its own pattern (no quoted spaces, for one);
    // a hint it refuses is dropped, and the final response is not affected.
  }
}

/** node wants each Link member on its own (one string with commas fails its check): split at `, <`. */
function linkMembers(link: string | string[]): string[] {
  return (Array.isArray(link) ? link : [link]).flatMap((line) => line.split(/,\s*(?=<)/)).map((member) => member.trim())
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
}

/** Drop an origin body we will not read: undici reports the abort as an error, which is expected here. */
export function discardBody(body: Readable): void {
  body.on('error', () => undefined)
  body.destroy()
}

/** Bodies up to this size are read to the end when nobody wants them, so that their connection is reused. */
const DRAIN_LIMIT = 64 * 1024

/**
 * An origin body nobody will read (a HEAD, a refresh not stored, an error replaced by a stale copy):
 * a small one is drained so that its pool connection is reused; a large one, or one of unknown
 * length, is dropped with its connection rather than downloaded for nothing.
 */
export function skipBody(body: Readable, headers: IncomingHttpHeaders): void {
  const length = headers['content-length'] === undefined ? Number.NaN : Number(headers['content-length'])
  if (length <= DRAIN_LIMIT) body.resume()
  else discardBody(body)
}

/** A short plain-text error. `bypass`: the request never used the cache. */
export function respondError(ctx: RequestContext, err: GatewayError, bypass = false): void {
  const { res } = ctx
  ctx.cacheStatus ??= bypass ? 'BYPASS' : 'MISS'
  if (res.headersSent) {
    res.destroy(err)
    return
  }
  const body = `${err.status} ${STATUS_TEXT[err.status] ?? 'Error'}: ${err.message} (${err.code})\n`
  res.writeHead(err.status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-cache-status': ctx.cacheStatus,
    'cache-status': cacheStatusMember(ctx.cacheStatus, undefined, { fwd: bypass ? 'bypass' : 'miss', detail: err.code.toLowerCase() }),
  })
  res.end(ctx.method === 'HEAD' ? undefined : body)
}

const DONE: Promise<void> = Promise.resolve()

/**
 * Stream an origin response to the client as it arrives. `prefix` holds chunks already read
 * while the response was still a candidate for storing.
 */
export function streamToClient(
  ctx: RequestContext,
  status: number,
  headers: IncomingHttpHeaders,
  body: Readable,
  prefix: readonly Buffer[],
  cacheStatus: CacheStatus,
  fwd: Forwarded,
): Promise<void> {
  ctx.cacheStatus = cacheStatus
  const { res } = ctx
  if (res.destroyed) {
    // The client is gone (it left while the origin was answering): free the origin connection.
    discardBody(body)
    return DONE
  }
  const fields = passedFields(headers, cacheStatus, fwd, hiddenFields(ctx.route))
  if (ctx.method === 'HEAD' || status === 204 || status === 304) {
    res.writeHead(status, fields)
    skipBody(body, headers)
    res.end()
    return DONE
  }
  // A small answer has usually arrived whole with its head: head and body in one write, no pipe.
  const whole = prefix.length === 0 ? takeWholeBody(body) : undefined
  if (whole !== undefined) {
    // Its length is known now: no chunked framing for an origin that sent none.
    if (headers['content-length'] === undefined) fields.push('content-length', String(whole.length))
    res.writeHead(status, fields)
    res.end(whole)
    return DONE
  }
  res.writeHead(status, fields)
  for (const chunk of prefix) res.write(chunk)
  // The prefix may have been the whole body: its 'end' has been and gone while nobody listened.
  if (body.readableEnded) {
    res.end()
    return Promise.resolve()
  }
  return new Promise((resolve) => {
    const finish = (): void => {
      body.off('error', onError)
      res.off('close', onClose)
      resolve()
    }
    const onError = (): void => {
      res.destroy()
      finish()
    }
    const onClose = (): void => {
      if (!body.readableEnded) discardBody(body)
      finish()
    }
    body.once('error', onError)
    res.once('close', onClose)
    body.once('end', () => {
      res.end()
    })
    body.pipe(res, { end: false })
  })
}

/**
 * An origin response read whole but not stored (a 5xx shared by a coalesced crowd): written from
 * the buffer, with its own Content-Length.
 */
export function respondBuffered(
  ctx: RequestContext,
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
  cacheStatus: CacheStatus,
  fwd: Forwarded,
): void {
  ctx.cacheStatus = cacheStatus
  const { res } = ctx
  if (res.destroyed) return
  const out = passedFields({ ...headers, 'content-length': undefined }, cacheStatus, fwd, hiddenFields(ctx.route))
  const bodiless = ctx.method === 'HEAD' || status === 204 || status === 304
  if (status !== 204 && status !== 304) out.push('content-length', String(body.length))
  res.writeHead(status, out)
  res.end(bodiless ? undefined : body)
}

/** The origin's fields as the client gets them: no hop-by-hop ones, corral's X-Cache-Status, Cache-Status appended. */
function passedFields(headers: IncomingHttpHeaders, cacheStatus: CacheStatus, fwd: Forwarded, hidden: readonly string[]): string[] {
  return fieldsForClient(headers, cacheStatus, cacheStatusMember(cacheStatus, undefined, fwd), hidden)
}

const NOTHING_HIDDEN: readonly string[] = []

/**
 * The origin's fields a route keeps from clients (Route.hiddenFields): stored entries are stored
 * without them (store.ts); this is the same rule for what is passed on as it comes.
 */
export function hiddenFields(route: Route | undefined): readonly string[] {
  return route === undefined ? NOTHING_HIDDEN : route.hiddenFields
}

/**
 * An origin's fields as a flat list for `writeHead`, in one pass: without hop-by-hop fields,
 * those named in Connection (RFC 9110 §7.6.1; names are lower-case, as parsed) and the `hidden`
 * ones, with corral's X-Cache-Status instead of the origin's, and its Cache-Status member after
 * the origin's (RFC 9211).
 */
export function fieldsForClient(headers: IncomingHttpHeaders, cacheStatus: CacheStatus, member: string, hidden: readonly string[]): string[] {
  const listed = namedInConnection(headers)
  const out: string[] = []
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'x-cache-status' || name === 'cache-status') continue
    if (listed?.has(name) === true || hidden.includes(name)) continue
    if (typeof value === 'string') out.push(name, value)
    else for (const v of value) out.push(name, v)
  }
  const upstream = headers['cache-status']
  out.push('x-cache-status', cacheStatus, 'cache-status', upstream === undefined ? member : `${String(upstream)}, ${member}`)
  return out
}
