/**
 * Which header fields are forwarded, stored, and updated by a 304 (RFC 9110 §7.6.1, RFC 9111
 * §3.1, §3.2, §4.3.4).
 */
import { parseResponseCacheControl } from './cache-control.js'
import type { HeaderMap, HeaderPairs, ResponseDirectives } from './types.js'

/** Hop-by-hop fields (RFC 9110 §7.6.1, plus the non-standard but common keep-alive / proxy-connection). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/**
 * RFC 9111 §3.1: fields specific to the proxy a cache forwards through MUST NOT be stored:
 * Proxy-Authenticate, Proxy-Authentication-Info, Proxy-Authorization (the first and last are
 * already hop-by-hop). Age is recomputed on delivery (RFC 9111 §5.1). X-Cache-Status is what a
 * cache says of one delivery (an upstream corral or nginx's, here): corral sends its own.
 */
const NEVER_STORED: ReadonlySet<string> = new Set(['proxy-authentication-info', 'age', 'x-cache-status'])

/**
 * RFC 9111 §3.2: a 304 does not update Content-Length (MUST NOT) nor the fields the stored
 * content depends on. corral stores the content as received, so the content coding
 * (Content-Encoding) and range (Content-Range) describing those bytes stay as stored.
 */
const NOT_UPDATED: ReadonlySet<string> = new Set(['content-length', 'content-encoding', 'content-range'])

/**
 * A Set-Cookie in a 304 is for the client that caused the revalidation; a shared cache never
 * stores one (storable.ts refuses such responses), so it is not merged into the stored entry.
 */
const NOT_MERGED: ReadonlySet<string> = new Set(['set-cookie'])

/** Field names listed in Connection (RFC 9110 §7.6.1), lowercased. */
export function connectionOptions(headers: HeaderMap): ReadonlySet<string> | undefined {
  const connection = headers.connection
  if (connection === undefined) return undefined
  const names = new Set<string>()
  for (const line of typeof connection === 'string' ? [connection] : connection) {
    for (const part of line.split(',')) {
      const name = part.trim().toLowerCase()
      if (name.length > 0) names.add(name)
    }
  }
  return names
}

/** connectionOptions, without splitting the two usual values (`keep-alive`, `close`), which name no field. */
export function namedInConnection(headers: HeaderMap): ReadonlySet<string> | undefined {
  const connection = headers.connection
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return undefined
  return connectionOptions(headers)
}

/** RFC 9110 §7.6.1: a proxy removes hop-by-hop fields and those named in Connection before forwarding. */
export function stripHopByHop(headers: HeaderMap): Record<string, string | string[]> {
  const listed = connectionOptions(headers)
  const out: Record<string, string | string[]> = {}
  for (const [rawName, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const name = rawName.toLowerCase()
    if (HOP_BY_HOP.has(name) || listed?.has(name) === true) continue
    out[name] = value
  }
  return out
}

/** The field names a qualified `no-cache="…"` / `private="…"` lists (undefined when none). */
export function qualifiedNames(d: ResponseDirectives): ReadonlySet<string> | undefined {
  const noCache = typeof d.noCache === 'boolean' ? undefined : d.noCache
  const priv = typeof d.private === 'boolean' ? undefined : d.private
  if (noCache === undefined && priv === undefined) return undefined
  return new Set([...(noCache ?? []), ...(priv ?? [])])
}

/** The pairs without the fields a qualified `no-cache="…"` / `private="…"` in `d` names. */
export function withoutQualified(pairs: HeaderPairs, d: ResponseDirectives): HeaderPairs {
  const qualified = qualifiedNames(d)
  return qualified === undefined ? pairs : pairs.filter(([name]) => !qualified.has(name))
}

/**
 * The header pairs to store (RFC 9111 §3.1): every field except hop-by-hop ones, those named in
 * Connection, proxy-specific ones, Age, and those named by a qualified `no-cache="…"` (§5.2.2.4)
 * or `private="…"` (§5.2.2.7, a shared cache). Each value of a repeated field (Set-Cookie) is its
 * own pair; names are lowercased.
 */
export function toStoredHeaders(headers: HeaderMap, d: ResponseDirectives): Array<[string, string]> {
  const listed = connectionOptions(headers)
  const qualified = qualifiedNames(d)
  const out: Array<[string, string]> = []
  for (const [rawName, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const name = rawName.toLowerCase()
    if (HOP_BY_HOP.has(name) || NEVER_STORED.has(name)) continue
    if (listed?.has(name) === true || qualified?.has(name) === true) continue
    if (typeof value === 'string') out.push([name, value])
    else for (const v of value) out.push([name, v])
  }
  return out
}

/**
 * Stored header fields updated by a 304 (RFC 9111 §3.2, §4.3.4): each field the 304 carries
 * replaces all stored values of that name (in the position of the first); fields it does not
 * carry are kept. Not taken from the 304: what §3.1 keeps out of storage (hop-by-hop, Connection
 * options, proxy-specific fields, Age), Content-Length and the other fields describing the stored
 * bytes (NOT_UPDATED), and Set-Cookie.
 * Fields named by a qualified no-cache / private in the resulting Cache-Control (the 304's if it
 * carries one, else the stored one) are dropped.
 */
export function mergeRevalidated(stored: HeaderPairs, fresh: HeaderMap): Array<[string, string]> {
  const listed = connectionOptions(fresh)
  const updates = new Map<string, string[]>()
  for (const [rawName, value] of Object.entries(fresh)) {
    if (value === undefined) continue
    const name = rawName.toLowerCase()
    if (HOP_BY_HOP.has(name) || NEVER_STORED.has(name) || NOT_UPDATED.has(name) || NOT_MERGED.has(name)) continue
    if (listed?.has(name) === true) continue
    const values = typeof value === 'string' ? [value] : value.slice()
    if (values.length === 0) continue
    const prev = updates.get(name)
    if (prev === undefined) updates.set(name, values)
    else prev.push(...values)
  }

  const out: Array<[string, string]> = []
  const placed = new Set<string>()
  for (const [name, value] of stored) {
    const replacement = updates.get(name)
    if (replacement === undefined) {
      out.push([name, value])
    } else if (!placed.has(name)) {
      placed.add(name)
      for (const v of replacement) out.push([name, v])
    }
  }
  for (const [name, values] of updates) {
    if (!placed.has(name)) for (const v of values) out.push([name, v])
  }

  const ccValues = out.filter(([name]) => name === 'cache-control').map(([, value]) => value)
  const mergedQualified = ccValues.length === 0 ? undefined : qualifiedNames(parseResponseCacheControl(ccValues))
  return mergedQualified === undefined ? out : out.filter(([name]) => !mergedQualified.has(name))
}
