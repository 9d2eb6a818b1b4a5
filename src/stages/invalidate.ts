/**
 * invalidate: RFC 9111 §4.4. A non-error response to an unsafe method (POST, PUT, PATCH, DELETE
 * and any method not known to be safe) removes what is stored for the request's URI, and for
 * the URIs in Location and Content-Location when they name the same host. Removing the primary
 * id is enough: variants hang off its vary index and cannot be reached without it.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { RequestContext } from '../context.js'
import { headerValue } from '../http.js'
import type { Runtime } from '../runtime.js'
import { keyFor } from './key.js'
import { matchRoute } from './route.js'

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

export function isUnsafe(method: string): boolean {
  return !SAFE_METHODS.has(method)
}

export function invalidateAfter(rt: Runtime, ctx: RequestContext, status: number, headers: IncomingHttpHeaders): void {
  if (status < 200 || status >= 400) return
  invalidateUri(rt, ctx.host, ctx.path, ctx.query)
  const base = `http://${ctx.host}${ctx.path}`
  for (const field of ['location', 'content-location'] as const) {
    const value = headerValue(headers[field])
    if (value === undefined) continue
    let url: URL
    try {
      url = new URL(value, base)
    } catch {
      continue
    }
    // Same origin only (§4.4): another host's URIs are not ours to drop on this response's word.
    if (url.host.toLowerCase() !== ctx.host) continue
    invalidateUri(rt, ctx.host, url.pathname, url.search.slice(1))
  }
}

function invalidateUri(rt: Runtime, host: string, path: string, query: string): void {
  const route = matchRoute(rt.config.routes, host, path, 'GET')
  if (route?.cache === undefined) return
  const { id } = keyFor(host, path, query, route.cache.key, {})
  rt.hitForMiss.clear(id)
  // Now, not in a later microtask: a POST answer stored from the same response (reuse-post) may
  // finish on the next tick and must come after. A store that throws instead of rejecting must
  // not escape into http-proxy-3's event handler (an uncaught exception there ends the process).
  try {
    rt.store.delete(id).catch((err: unknown) => rt.log.storeFailed(err, { keyId: id }))
  } catch (err) {
    rt.log.storeFailed(err, { keyId: id })
  }
}
