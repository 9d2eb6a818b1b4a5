/**
 * receive: turn a request node has parsed into a context, or reject it. Node's parser already
 * refuses malformed request lines, bad header syntax, conflicting Content-Length /
 * Transfer-Encoding and oversized heads (see server.ts for how those are answered); what is
 * left here is the request target and the Host.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestContext } from '../context.js'
import { GatewayError } from '../errors.js'

let counter = 0
const bootId = Date.now().toString(36)

export function receive(req: IncomingMessage, res: ServerResponse): RequestContext | GatewayError {
  const target = req.url ?? ''
  let path: string
  let query: string
  let host = req.headers.host
  if (target.startsWith('/')) {
    const q = target.indexOf('?')
    path = q === -1 ? target : target.slice(0, q)
    query = q === -1 ? '' : target.slice(q + 1)
  } else if (/^https?:\/\//i.test(target)) {
    // RFC 9112 §3.2.2: absolute-form; its authority replaces Host.
    let url: URL
    try {
      url = new URL(target)
    } catch {
      return new GatewayError('CORRAL_ERR_BAD_REQUEST', 'malformed request target')
    }
    path = url.pathname
    query = url.search.slice(1)
    host = url.host
  } else {
    return new GatewayError('CORRAL_ERR_BAD_REQUEST', 'request target must be a path')
  }
  if (host === undefined || host === '' || !/^[A-Za-z0-9.\-_:[\]]+$/.test(host)) {
    return new GatewayError('CORRAL_ERR_BAD_REQUEST', 'missing or malformed Host header')
  }
  const lower = host.toLowerCase()
  return {
    req,
    res,
    reqId: requestId(req),
    startedAt: performance.now(),
    method: req.method ?? 'GET',
    host: lower.endsWith('.') ? lower.slice(0, -1) : lower,
    path,
    query,
    route: undefined,
    reqDirectives: undefined,
    cacheStatus: undefined,
    reason: undefined,
    keyId: undefined,
    lookupMs: undefined,
    lockWaitMs: undefined,
    lockRole: undefined,
    originMs: undefined,
  }
}

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  if (typeof given === 'string' && given.length > 0 && given.length <= 128) return given
  return `${bootId}-${(++counter).toString(36)}`
}
