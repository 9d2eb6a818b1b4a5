/**
 * key: which stored object a request asks for. Method (HEAD shares GET's entry), scheme, host,
 * normalized path and the query per the route's recipe make the URI key, hashed to a fixed-size
 * id that names the object in every store. The headers and cookies a route adds to the key
 * select a variant under that id, as Vary does, so that invalidating a URI (an unsafe method,
 * a purge) reaches every variant of it at once.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { KeyRecipe, QueryRecipe } from '../config/types.js'
import type { RequestContext } from '../context.js'
import { headerValue } from '../http.js'
import { hashId } from '../store/ids.js'

export interface CacheKey {
  /** Readable URI key (`GET http://host/path?query`), for purge and debugging. */
  readonly key: string
  /** sha-256 of the URI key, base64url, 22 chars (128 bits): the store id. */
  readonly id: string
  /** The values of the route's key headers and cookies ('' when the route names none). */
  readonly selector: string
  /**
   * The path and query the key was made of (normalized path, keyed query): what a cache fetch
   * asks the origin for, so that two requests sharing an entry are one request to the origin too.
   */
  readonly target: string
}

/**
 * The request's key. The URI part (key, id, target) depends only on the recipe, the host, the path
 * and the query: it is remembered per recipe, so that a request for a URL seen recently builds no
 * string and hashes nothing. Only the selector (the route's key headers and cookies) is read from
 * each request.
 */
export function cacheKey(ctx: RequestContext, recipe: KeyRecipe): CacheKey {
  let byHost = recentKeys.get(recipe)
  if (byHost === undefined) {
    byHost = new RecentKeys()
    recentKeys.set(recipe, byHost)
  }
  // Without a query, ctx.path is the request target itself: no string is built for the lookup.
  const uri = ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`
  let known = byHost.get(ctx.host, uri)
  if (known === undefined) {
    known = keyFor(ctx.host, ctx.path, ctx.query, uriRecipe(recipe), EMPTY_HEADERS)
    byHost.set(ctx.host, uri, known)
  }
  if (recipe.headers.length === 0 && recipe.cookies.length === 0) return known
  return { key: known.key, id: known.id, selector: selectorOf(recipe, ctx.req.headers), target: known.target }
}

const EMPTY_HEADERS: IncomingHttpHeaders = Object.freeze({})

/** The recipe without its key headers and cookies: the URI part of a key. */
const withoutSelector = new WeakMap<KeyRecipe, KeyRecipe>()
function uriRecipe(recipe: KeyRecipe): KeyRecipe {
  if (recipe.headers.length === 0 && recipe.cookies.length === 0) return recipe
  let bare = withoutSelector.get(recipe)
  if (bare === undefined) {
    bare = { query: recipe.query, headers: [], cookies: [] }
    withoutSelector.set(recipe, bare)
  }
  return bare
}

/**
 * Keys of recently requested URLs, by host, then path and query. Two generations: when the
 * current one holds RECENT_KEYS_MAX URLs it becomes the old one, and a URL found only in the old
 * one moves back to the current. Memory stays bounded (two generations of at most
 * RECENT_KEYS_MAX), and the URLs requested again survive a turnover.
 */
const RECENT_KEYS_MAX = 50_000

class RecentKeys {
  private current = new Map<string, Map<string, CacheKey>>()
  private old = new Map<string, Map<string, CacheKey>>()
  private size = 0

  get(host: string, uri: string): CacheKey | undefined {
    const found = this.current.get(host)?.get(uri)
    if (found !== undefined) return found
    const old = this.old.get(host)?.get(uri)
    if (old !== undefined) this.set(host, uri, old)
    return old
  }

  set(host: string, uri: string, key: CacheKey): void {
    if (this.size >= RECENT_KEYS_MAX) {
      this.old = this.current
      this.current = new Map()
      this.size = 0
    }
    let byUri = this.current.get(host)
    if (byUri === undefined) {
      byUri = new Map()
      this.current.set(host, byUri)
    }
    byUri.set(uri, key)
    this.size++
  }
}

const recentKeys = new WeakMap<KeyRecipe, RecentKeys>()

function selectorOf(recipe: KeyRecipe, headers: IncomingHttpHeaders): string {
  let selector = ''
  for (const name of recipe.headers) selector += `h:${name}=${headerValue(headers[name]) ?? ''}\n`
  if (recipe.cookies.length > 0) {
    const jar = parseCookies(headerValue(headers.cookie))
    for (const name of recipe.cookies) selector += `c:${name}=${jar.get(name) ?? ''}\n`
  }
  return selector
}

export function keyFor(host: string, path: string, query: string, recipe: KeyRecipe, headers: IncomingHttpHeaders): CacheKey {
  const q = keyQuery(query, recipe.query)
  const target = q === '' ? normalizePath(path) : `${normalizePath(path)}?${q}`
  const key = `GET http://${host}${target}`
  return { key, id: hashId(key), selector: selectorOf(recipe, headers), target }
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

// By name only, and the sort is stable: repeated parameters keep their order (`x=1&x=2` and
// `x=2&x=1` are different requests to most origins, so they are different keys).
function compareParams(a: string, b: string): number {
  const na = paramName(a)
  const nb = paramName(b)
  return na === nb ? 0 : na < nb ? -1 : 1
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
