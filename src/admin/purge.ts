/**
 * Purge requests as the admin API receives them (`{"url": …}`, `{"prefix": …}`, `{"tag": …}`,
 * `{"all": true}`, each with an optional `"soft": true`, or a list of them), checked, and turned
 * into store orders (src/store/purge.ts) with the same key rules the request path uses.
 */
import type { Config } from '../config/types.js'
import { keyFor, keyQuery, normalizePath } from '../stages/key.js'
import { matchRoute } from '../stages/route.js'
import type { PurgeOrder, PurgeTarget } from '../store/purge.js'

export type PurgeRequest =
  | { readonly url: string; readonly soft: boolean }
  | { readonly prefix: string; readonly soft: boolean }
  | { readonly tag: string; readonly soft: boolean }
  | { readonly all: true; readonly soft: boolean }

export type PurgeKind = 'url' | 'prefix' | 'tag' | 'all'

export function purgeKind(request: PurgeRequest): PurgeKind {
  return 'url' in request ? 'url' : 'prefix' in request ? 'prefix' : 'tag' in request ? 'tag' : 'all'
}

/** At most this many purges in one call: a longer list is a job for several calls (or a tag). */
export const MAX_PURGES_PER_CALL = 1_000

const FIELDS = ['url', 'prefix', 'tag', 'all'] as const

/** The body's purges, or the one problem with it (naming the item and field). */
export function parsePurgeBody(body: unknown): PurgeRequest[] | string {
  const items = Array.isArray(body) ? body : [body]
  if (items.length === 0) return 'expected a purge, or a non-empty list of them'
  if (items.length > MAX_PURGES_PER_CALL) return `at most ${MAX_PURGES_PER_CALL} purges per call, got ${items.length}`
  const out: PurgeRequest[] = []
  for (const [i, item] of items.entries()) {
    const at = Array.isArray(body) ? `[${i}]` : 'body'
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `${at}: expected an object like {"url": "http://host/path"}`
    const fields = Object.keys(item as object)
    const unknown = fields.find((f) => f !== 'soft' && !(FIELDS as readonly string[]).includes(f))
    if (unknown !== undefined) return `${at}.${unknown}: unknown field (expected one of url, prefix, tag, all; and soft)`
    const given = FIELDS.filter((f) => f in (item as object))
    if (given.length !== 1) return `${at}: expected exactly one of url, prefix, tag, all${given.length > 1 ? `, got ${given.join(' and ')}` : ''}`
    const r = item as Record<string, unknown>
    if (r.soft !== undefined && typeof r.soft !== 'boolean') return `${at}.soft: expected true or false`
    const soft = r.soft === true
    const field = given[0] as (typeof FIELDS)[number]
    const value = r[field]
    if (field === 'all') {
      if (value !== true) return `${at}.all: expected true`
      out.push({ all: true, soft })
      continue
    }
    if (typeof value !== 'string' || value === '') return `${at}.${field}: expected a non-empty string`
    if (field === 'tag') {
      if (/[\s,]/.test(value)) return `${at}.tag: one tag per purge (no spaces or commas); send a list for several`
      out.push({ tag: value, soft })
      continue
    }
    if (parseTarget(value) === undefined) return `${at}.${field}: expected http://host/path?query or a path starting with /`
    out.push(field === 'url' ? { url: value, soft } : { prefix: value, soft })
  }
  return out
}

interface ParsedTarget {
  /** Lowercased `host[:port]`, undefined for a path alone (every host). */
  readonly host: string | undefined
  readonly path: string
  readonly query: string
}

/** Not WHATWG URL: it would resolve dot segments and re-encode the path, and corral keys what the client sent. */
function parseTarget(text: string): ParsedTarget | undefined {
  const m = /^(?:https?:\/\/([^/?#\s]+))?(\/[^?#\s]*)?(?:\?([^#\s]*))?$/i.exec(text)
  if (m === null || (m[1] === undefined && m[2] === undefined)) return undefined
  const host = m[1]?.toLowerCase().replace(/\.$/, '').replace(/\.:/, ':')
  return { host, path: m[2] ?? '/', query: m[3] ?? '' }
}

/** The store order for a request, keyed as the request path keys (the route's query rules included). */
export function purgeOrder(config: Config, request: PurgeRequest): PurgeOrder {
  return { target: purgeTarget(config, request), soft: request.soft }
}

function purgeTarget(config: Config, request: PurgeRequest): PurgeTarget {
  if ('all' in request) return { kind: 'all' }
  if ('tag' in request) return { kind: 'tag', tag: request.tag }
  if ('prefix' in request) {
    const t = parseTarget(request.prefix) as ParsedTarget
    return { kind: 'prefix', host: t.host, prefix: normalizePath(t.path) + (t.query === '' ? '' : `?${t.query}`) }
  }
  const t = parseTarget(request.url) as ParsedTarget
  if (t.host === undefined) {
    // Every host: without one no route can be chosen, so the query is taken whole, sorted as keys sort it.
    const q = keyQuery(t.query, { mode: 'all' })
    return { kind: 'url', host: undefined, target: q === '' ? normalizePath(t.path) : `${normalizePath(t.path)}?${q}`, ids: [] }
  }
  const route = matchRoute(config.routes, t.host, t.path, 'GET')
  if (route?.cache === undefined) {
    // No route caches it now; an entry may remain from before a reload: look for it by URL.
    return { kind: 'url', host: t.host, target: normalizePath(t.path) + (t.query === '' ? '' : `?${t.query}`), ids: [] }
  }
  const key = keyFor(t.host, t.path, t.query, route.cache.key, {})
  return { kind: 'url', host: t.host, target: key.target, ids: [key.id] }
}
