/**
 * key: which stored object a request asks for. Method (HEAD shares GET's entry), scheme, host,
 * normalized path and the query per the route's recipe, plus any headers and cookies the
 * route names; hashed to a fixed-size id that names the object in every store.
 */
import { createHash } from 'node:crypto'
import type { KeyRecipe, QueryRecipe } from '../config/types.js'
import type { RequestContext } from '../context.js'
import { headerValue } from '../http.js'

export interface CacheKey {
  /** Readable key, for purge and debugging. */
  readonly key: string
  /** sha-256 of the key, base64url, 22 chars (128 bits): the store id. */
  readonly id: string
}

export function cacheKey(ctx: RequestContext, recipe: KeyRecipe): CacheKey {
  let key = `GET http://${ctx.host}${normalizePath(ctx.path)}`
  const query = keyQuery(ctx.query, recipe.query)
  if (query !== '') key += `?${query}`
  for (const name of recipe.headers) key += `\nh:${name}=${headerValue(ctx.req.headers[name]) ?? ''}`
  if (recipe.cookies.length > 0) {
    const jar = parseCookies(headerValue(ctx.req.headers.cookie))
    for (const name of recipe.cookies) key += `\nc:${name}=${jar.get(name) ?? ''}`
  }
  return { key, id: hashId(key) }
}

export function hashId(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22)
}

/** The id of one variant of a varying response, in the same hash slot as its primary id. */
export function variantId(id: string, signature: string): string {
  return `${id}:v:${hashId(signature)}`
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/**
 * RFC 3986 §6.2.2: percent-encoded unreserved characters are equivalent to the characters
 * themselves, and hex digits are case-insensitive. Nothing else is touched (not dot segments,
 * not reserved characters), so two paths share a key only when every origin must treat them alike.
 */
export function normalizePath(path: string): string {
  if (!path.includes('%')) return path
  return path.replace(/%([0-9A-Fa-f]{2})/g, (match, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
  })
}

export function keyQuery(query: string, recipe: QueryRecipe): string {
  if (query === '' || recipe.mode === 'none') return ''
  let params = query.split('&').filter((p) => p !== '')
  if (recipe.mode === 'only') params = params.filter((p) => recipe.names.has(paramName(p)))
  else if (recipe.mode === 'ignore') params = params.filter((p) => !recipe.names.has(paramName(p)))
  if (params.length > 1) params.sort(compareParams)
  return params.join('&')
}

function paramName(param: string): string {
  const eq = param.indexOf('=')
  return eq === -1 ? param : param.slice(0, eq)
}

// Sort by name first so that `a=2&a=1` keeps a stable order between equal names only by value.
function compareParams(a: string, b: string): number {
  const na = paramName(a)
  const nb = paramName(b)
  if (na !== nb) return na < nb ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const jar = new Map<string, string>()
  if (header === undefined) return jar
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    const name = part.slice(0, eq).trim()
    if (name !== '' && !jar.has(name)) jar.set(name, part.slice(eq + 1).trim())
  }
  return jar
}
