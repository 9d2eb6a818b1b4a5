/**
 * route: the first rule that matches host, path and method gives the route; then whether the
 * request may use the cache at all (method, route switch, bypass rules, upgrades).
 */
import type { BypassRule, Route } from '../config/types.js'
import type { RequestContext } from '../context.js'
import { headerValue } from '../http.js'
import type { Reason } from '../status.js'
import { parseCookies } from './key.js'

export function matchRoute(routes: readonly Route[], host: string, path: string, method: string): Route | undefined {
  for (const route of routes) {
    const { hosts, path: pathMatcher, methods } = route.match
    if (methods !== undefined && !methods.has(method)) continue
    if (hosts !== undefined && !hosts.some((h) => hostMatches(h, host))) continue
    if (!pathMatcher.test(path)) continue
    return route
  }
  return undefined
}

function hostMatches(pattern: string, host: string): boolean {
  const bare = stripPort(host)
  if (pattern.startsWith('*.')) return bare.endsWith(pattern.slice(1)) && bare.length > pattern.length - 1
  return bare === pattern
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end === -1 ? host : host.slice(0, end + 1)
  }
  const colon = host.lastIndexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}

/** Why this request goes around the cache, or undefined when it may use it. */
export function passReason(ctx: RequestContext, route: Route): Reason | undefined {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return 'METHOD'
  if (route.cache === undefined) return 'ROUTE_NO_CACHE'
  if (ctx.req.headers.upgrade !== undefined) return 'UPGRADE'
  if (route.cache.bypass.length > 0 && route.cache.bypass.some((rule) => bypassMatches(rule, ctx))) return 'BYPASS_RULE'
  return undefined
}

function bypassMatches(rule: BypassRule, ctx: RequestContext): boolean {
  let actual: string | undefined
  switch (rule.kind) {
    case 'header':
      actual = headerValue(ctx.req.headers[rule.name])
      break
    case 'cookie':
      actual = parseCookies(headerValue(ctx.req.headers.cookie)).get(rule.name)
      break
    case 'query':
      actual = queryParam(ctx.query, rule.name)
      break
  }
  if (actual === undefined) return false
  return rule.value === undefined || actual === rule.value
}

function queryParam(query: string, name: string): string | undefined {
  if (query === '') return undefined
  for (const part of query.split('&')) {
    const eq = part.indexOf('=')
    const key = eq === -1 ? part : part.slice(0, eq)
    if (safeDecode(key) === name) return eq === -1 ? '' : safeDecode(part.slice(eq + 1))
  }
  return undefined
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}
