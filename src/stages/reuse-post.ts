/**
 * reuse-post: RFC 9110 §9.3.3 and RFC 9111 §3/§4. A response to POST that carries explicit
 * freshness and a Content-Location naming the POST's own URI is a representation of that URI:
 * it is stored as the GET entry there, so that the next GET does not go to the origin. The body
 * is copied as it streams to the client; the client never waits for the store.
 */
import type { IncomingMessage } from 'node:http'
import type { RequestContext } from '../context.js'
import { headerValue } from '../http.js'
import { parseRequestCacheControl } from '../policy/cache-control.js'
import { originFreshness } from '../policy/freshness.js'
import type { Runtime } from '../runtime.js'
import { keyFor } from './key.js'
import { matchRoute } from './route.js'
import { buildEntry, judge, storeEntry } from './store.js'

export function storePostResponse(rt: Runtime, ctx: RequestContext, res: IncomingMessage): void {
  const status = res.statusCode ?? 0
  // 200 and 203 carry a representation of the target (RFC 9110 §15.3); a later GET should not be told "201 Created".
  if (ctx.method !== 'POST' || (status !== 200 && status !== 203)) return
  const location = headerValue(res.headers['content-location'])
  if (location === undefined || !namesRequestUri(ctx, location)) return
  const route = matchRoute(rt.config.routes, ctx.host, ctx.path, 'GET')
  const cache = route?.cache
  if (cache === undefined) return

  const responseTime = Date.now()
  // A copy: the pass stage goes on to change these fields for the client (Cache-Status, Connection).
  const headers = { ...res.headers }
  const head = { status, headers, requestTime: responseTime - (performance.now() - ctx.startedAt), responseTime }
  const reqHeaders = ctx.req.headers
  const reqDirectives = parseRequestCacheControl(reqHeaders['cache-control'], reqHeaders.pragma)
  const verdict = judge(head, reqHeaders, reqDirectives, cache)
  if ('reason' in verdict) return
  // "Explicit freshness" (§9.3.3): the origin's own word; a route TTL or a heuristic does not count.
  const explicit = originFreshness(verdict.storable.directives, headers, responseTime)
  if (explicit === undefined || explicit.lifetimeMs <= 0) return
  if (Number(headers['content-length']) > cache.maxObjectBytes) return

  const key = keyFor(ctx.host, ctx.path, ctx.query, cache.key, reqHeaders)
  const chunks: Buffer[] = []
  let bytes = 0
  const onData = (chunk: Buffer): void => {
    bytes += chunk.length
    if (bytes > cache.maxObjectBytes) {
      res.off('data', onData)
      res.off('end', onEnd)
      chunks.length = 0
      return
    }
    chunks.push(chunk)
  }
  const onEnd = (): void => {
    // An origin that breaks off mid-body leaves nothing to store.
    if (!res.complete) return
    const entry = buildEntry(key, head, verdict.storable, Buffer.concat(chunks, bytes), reqHeaders, cache)
    // The invalidation that this same response caused has removed any index: the entry starts a new one.
    storeEntry(rt.store, key, entry, undefined).catch((err: unknown) => rt.log.storeFailed(err, { keyId: key.id }))
  }
  res.on('data', onData)
  res.once('end', onEnd)
}

/** Content-Location, resolved against the request URI, is that URI (same host, path and query). */
function namesRequestUri(ctx: RequestContext, location: string): boolean {
  const target = `http://${ctx.host}${ctx.path}${ctx.query === '' ? '' : `?${ctx.query}`}`
  let url: URL
  try {
    url = new URL(location, target)
  } catch {
    return false
  }
  return url.href === new URL(target).href
}
