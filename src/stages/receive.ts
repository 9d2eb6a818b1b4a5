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

/** The last valid Host seen, and what it normalizes to: clients of one site send the same Host again and again. */
let lastHost = ''
let lastNormalized = ''

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
  // RFC 9110 §7.2 / RFC 9112 §3.2: one Host, and a valid one, or 400 (also when the absolute
  // form supplies the authority: two Host fields are a smuggling attempt either way).
  if (hasSeveralHosts(req.rawHeaders)) return new GatewayError('CORRAL_ERR_BAD_REQUEST', 'more than one Host header')
  if (host === undefined || host === '') return new GatewayError('CORRAL_ERR_BAD_REQUEST', 'missing Host header')
  let normalized: string
  if (host === lastHost) normalized = lastNormalized
  else {
    if (!isValidHost(host)) return new GatewayError('CORRAL_ERR_BAD_REQUEST', 'malformed Host header')
    const lower = host.toLowerCase()
    normalized = lower.endsWith('.') ? lower.slice(0, -1) : lower
    lastHost = host
    lastNormalized = normalized
  }
  return {
    req,
    res,
    reqId: requestId(req),
    startedAt: performance.now(),
    method: req.method ?? 'GET',
    host: normalized,
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

/**
 * RFC 3986 §3.2.2–3.2.3 as far as a host can be one: an IPv6 literal in brackets, or a name of
 * letters, digits, '-', '.', '_' and '~' (the unreserved characters; no name system has more),
 * then an optional port of at most five digits.
 */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::(\d{0,5}))?$/

export function isValidHost(host: string): boolean {
  const m = HOST.exec(host)
  return m !== null && (m[1] === undefined || m[1] === '' || Number(m[1]) <= 65_535)
}

/** node keeps the first of several Host fields and drops the others: count them in the raw head. */
function hasSeveralHosts(raw: readonly string[]): boolean {
  let seen = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length !== 4 || name.toLowerCase() !== 'host') continue
    if (seen) return true
    seen = true
  }
  return false
}

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  if (typeof given === 'string' && given.length > 0 && given.length <= 128) return given
  return `${bootId}-${(++counter).toString(36)}`
}
