/**
 * Configuration: YAML file (or CLI flags) → schema.ts → cross-field checks → overrides → the
 * compiled, deeply frozen `Config` of types.ts. Every problem is collected and reported at once,
 * each line naming its YAML path; nothing here runs per request.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'

import cacheControl from 'cache-control-parser'
import { LineCounter, parseDocument } from 'yaml'
import type { z } from 'zod'

import { GatewayError } from '../errors.js'
import { UNKEYED_OVERRIDES } from '../policy/unkeyed.js'
import { formatDuration, formatSize } from './duration.js'
import {
  configFileSchema,
  DEFAULT_STALE_IF_DISCONNECTED_MS,
  errorMap,
  LOG_LEVELS,
  parseCidr,
  parseRedisUrl,
  parseUpstreamUrl,
  parseWorkers,
  PORT_MESSAGE,
  routeSchema,
  sizeSchema,
  storeSchema,
  type ConfigFile,
  type MatchFile,
  type RouteCacheFile,
  type RouteFile,
  type UpstreamTarget,
  WORKERS_MESSAGE,
} from './schema.js'
import { closest, keysAt } from './suggest.js'
import type {
  AdminConfig,
  BypassRule,
  CidrBlock,
  CoalesceConfig,
  Config,
  LogLevel,
  MemoryStoreConfig,
  RedisStoreConfig,
  StoreConfig,
  TagRule,
  PathMatcher,
  QueryRecipe,
  Route,
  RouteCache,
  Upstream,
} from './types.js'

export type * from './types.js'

export class ConfigError extends GatewayError {
  /** One line per problem: `<path>: <message>`. */
  readonly issues: readonly string[]
  readonly source: string

  /** `headline: false`: the message is the issues alone, for a file that could not be read (it is not invalid, it is not there). */
  constructor(source: string, issues: readonly string[], options?: { cause?: unknown; headline?: boolean }) {
    const lines = options?.headline === false ? issues : [`invalid configuration (${source}):`, ...issues]
    super('CORRAL_ERR_CONFIG_INVALID', lines.join('\n'), { cause: options?.cause })
    this.name = 'ConfigError'
    this.source = source
    this.issues = Object.freeze([...issues])
  }
}

/** Values from CLI flags or environment variables; they win over the file. */
export interface Overrides {
  /** Replaces the first listener's port. */
  port?: number
  /** Replaces the first listener's host. */
  host?: string
  /** Replaces the URL of the upstream named `default`, or of the only upstream. */
  upstream?: string
  logLevel?: LogLevel
  /** A Redis URL: fleet mode, in place of the file's `store.redis` location. */
  redis?: string
  /** `server.workers`: a count, or 'auto'. */
  workers?: string | number
  /** The admin listener's port (0: off). */
  adminPort?: number
  /** The admin token (CORRAL_ADMIN_TOKEN): wins over admin.tokenFile. */
  adminToken?: string
}

export function compileConfig(raw: unknown, source: string, overrides: Overrides = {}): Config {
  const parsed = configFileSchema.safeParse(raw, { error: errorMap })
  const upstreamNames = isRecord(raw) && isRecord(raw.upstreams) ? Object.keys(raw.upstreams) : undefined
  const issues = parsed.success ? [] : parsed.error.issues.flatMap((issue) => issueLines(issue))
  issues.push(...crossFieldIssues(raw, upstreamNames))
  const resolved = resolveOverrides(overrides, upstreamNames, issues)
  if (!parsed.success || issues.length > 0) throw new ConfigError(source, issues)
  try {
    return deepFreeze(buildConfig(parsed.data, source, resolved))
  } catch (err) {
    if (err instanceof TokenFileError) throw new ConfigError(source, [err.message], { cause: err })
    throw err
  }
}

export async function loadConfigFile(path: string, overrides?: Overrides): Promise<Config> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(path, [`cannot read config file ${path}: ${readProblem(err)}`], { cause: err, headline: false })
  }
  return compileConfig(parseYaml(text, path), path, overrides)
}

/** The no-config-file mode: one upstream and one catch-all route, both named `default`, caching with every default. */
export function quickConfig(opts: Overrides & { upstream: string }): Config {
  const source = 'flags'
  try {
    parseUpstreamUrl(opts.upstream)
  } catch (err) {
    throw new ConfigError(source, [`--upstream: ${errorMessage(err)}`])
  }
  const raw = { upstreams: { default: { url: opts.upstream } } }
  const { port, host, logLevel, redis, workers, adminPort, adminToken } = opts
  return compileConfig(raw, source, { port, host, logLevel, redis, workers, adminPort, adminToken })
}

// ---------------------------------------------------------------- YAML

function parseYaml(text: string, path: string): unknown {
  const lineCounter = new LineCounter()
  // `merge` lets routes share settings through `<<: *anchor`
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(
      path,
      doc.errors.map((err) => {
        const { line, col } = lineCounter.linePos(err.pos[0])
        return `${path}:${line}:${col}: ${err.message}`
      }),
    )
  }
  if (doc.contents === null) throw new ConfigError(path, ['the file is empty; it needs at least an "upstreams" section'])
  try {
    const raw: unknown = doc.toJS()
    return raw
  } catch (err) {
    // e.g. an alias to an anchor defined later
    throw new ConfigError(path, [`${path}: ${errorMessage(err)}`], { cause: err })
  }
}

// ---------------------------------------------------------------- issues

function formatPath(path: readonly PropertyKey[]): string {
  let text = ''
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`
    else text += text === '' ? String(key) : `.${String(key)}`
  }
  return text === '' ? '(top level)' : text
}

function isTypeMismatch(issue: z.core.$ZodIssue): boolean {
  return (
    issue.path.length === 0 &&
    (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union')
  )
}

function issueLines(issue: z.core.$ZodIssue, base: readonly PropertyKey[] = []): string[] {
  const path = [...base, ...issue.path]
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(configFileSchema, path)
      return issue.keys.map((key) => {
        const near = closest(key, known)
        return `${formatPath([...path, key])}: unknown key${near === undefined ? '' : ` (did you mean "${near}"?)`}`
      })
    }
    case 'invalid_key':
      return [`${formatPath(path)}: ${issue.issues[0]?.message ?? issue.message}`]
    case 'invalid_union': {
      // When the value has the shape of one alternative (say, a mapping with a bad field), report
      // that alternative's problems rather than a vague "expected one of".
      const shaped = issue.errors.find((branch) => !branch.some(isTypeMismatch))
      if (shaped) return shaped.flatMap((inner) => issueLines(inner, path))
      break
    }
  }
  return [`${formatPath(path)}: ${issue.message}`]
}

function defaultRouteName(index: number): string {
  return `route-${index}`
}

/**
 * Rules that span sections. They read the raw input (not the schema's result) so that they are
 * reported together with the schema's issues instead of after those are fixed.
 */
function crossFieldIssues(raw: unknown, upstreamNames: readonly string[] | undefined): string[] {
  if (!isRecord(raw)) return []
  const issues: string[] = []
  const defined = upstreamNames?.join(', ') ?? ''
  const hasSeveralUpstreams = upstreamNames !== undefined && upstreamNames.length > 1
  if (raw.routes === undefined) {
    if (hasSeveralUpstreams) issues.push('routes: required when there are several upstreams')
    return issues
  }
  if (!Array.isArray(raw.routes)) return issues

  const store = storeSchema.safeParse(raw.store)
  const storeMaxObjectBytes = store.success ? store.data.memory.maxObjectSize : undefined
  const firstIndexByName = new Map<string, number>()
  for (const [index, route] of (raw.routes as unknown[]).entries()) {
    if (!isRecord(route)) continue
    const at = `routes[${index}]`

    const name = typeof route.name === 'string' ? route.name : defaultRouteName(index)
    const first = firstIndexByName.get(name)
    if (first === undefined) firstIndexByName.set(name, index)
    else issues.push(`${at}.name: duplicate route name "${name}" (also routes[${first}])`)

    if (upstreamNames !== undefined && upstreamNames.length > 0) {
      if (typeof route.upstream === 'string' && !upstreamNames.includes(route.upstream)) {
        issues.push(`${at}.upstream: unknown upstream "${route.upstream}" (defined: ${defined})`)
      } else if (route.upstream === undefined && hasSeveralUpstreams) {
        issues.push(`${at}.upstream: required when there are several upstreams (defined: ${defined})`)
      }
    }

    if (isRecord(route.cache) && route.cache.maxObjectSize !== undefined && storeMaxObjectBytes !== undefined) {
      const size = sizeSchema.safeParse(route.cache.maxObjectSize)
      if (size.success && size.data > storeMaxObjectBytes) {
        issues.push(
          `${at}.cache.maxObjectSize: must not be larger than store.memory.maxObjectSize (${formatSize(storeMaxObjectBytes)})`,
        )
      }
    }
  }
  return issues
}

interface ResolvedOverrides {
  readonly host?: string
  readonly port?: number
  readonly logLevel?: LogLevel
  readonly upstream?: { readonly name: string; readonly target: UpstreamTarget }
  readonly redis?: string
  readonly workers?: number
  readonly adminPort?: number
  readonly adminToken?: string
}

/** Checks the overrides, adding problems to `issues` under the flag's name. */
function resolveOverrides(
  overrides: Overrides,
  upstreamNames: readonly string[] | undefined,
  issues: string[],
): ResolvedOverrides {
  const { host, port, logLevel, upstream, redis, workers, adminPort, adminToken } = overrides
  const resolved: { -readonly [K in keyof ResolvedOverrides]: ResolvedOverrides[K] } = {}
  if (adminPort !== undefined) {
    if (Number.isInteger(adminPort) && adminPort >= 0 && adminPort <= 65_535) resolved.adminPort = adminPort
    else issues.push(`--admin-port: ${PORT_MESSAGE}`)
  }
  if (adminToken !== undefined && adminToken !== '') {
    if (adminToken.length >= MIN_TOKEN_LENGTH) resolved.adminToken = adminToken
    else issues.push(`CORRAL_ADMIN_TOKEN: too short: use ${MIN_TOKEN_LENGTH} characters or more (openssl rand -hex 32)`)
  }
  if (port !== undefined) {
    if (Number.isInteger(port) && port >= 0 && port <= 65_535) resolved.port = port
    else issues.push(`--port: ${PORT_MESSAGE}`)
  }
  if (host !== undefined) {
    if (host !== '') resolved.host = host
    else issues.push('--host: must not be empty')
  }
  if (logLevel !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(logLevel)) resolved.logLevel = logLevel
    else issues.push(`--log-level: expected one of ${LOG_LEVELS.join(', ')}`)
  }
  if (redis !== undefined) {
    try {
      resolved.redis = parseRedisUrl(redis)
    } catch (err) {
      issues.push(`--redis: ${errorMessage(err)}`)
    }
  }
  if (workers !== undefined) {
    const n = parseWorkers(workers)
    if (n !== undefined) resolved.workers = n
    else issues.push(`--workers: ${WORKERS_MESSAGE}`)
  }
  if (upstream !== undefined) {
    let target: UpstreamTarget | undefined
    try {
      target = parseUpstreamUrl(upstream)
    } catch (err) {
      issues.push(`--upstream: ${errorMessage(err)}`)
    }
    // without a usable `upstreams` section the schema has already said so
    if (target !== undefined && upstreamNames !== undefined && upstreamNames.length > 0) {
      const name = upstreamNames.includes('default') ? 'default' : upstreamNames.length === 1 ? upstreamNames[0] : undefined
      if (name !== undefined) {
        resolved.upstream = { name, target }
      } else {
        issues.push(
          `--upstream: the configuration has several upstreams (${upstreamNames.join(', ')}) and none named "default"`,
        )
      }
    }
  }
  return resolved
}

// ---------------------------------------------------------------- compile

function buildConfig(file: ConfigFile, source: string, overrides: ResolvedOverrides): Config {
  const listeners = file.listeners.map((listener, index) =>
    index === 0 ? { host: overrides.host ?? listener.host, port: overrides.port ?? listener.port } : listener,
  )

  const upstreams = new Map<string, Upstream>()
  for (const [name, upstream] of Object.entries(file.upstreams)) {
    const target = overrides.upstream?.name === name ? overrides.upstream.target : upstream.url
    upstreams.set(name, {
      name,
      url: target.url,
      origin: target.origin,
      basePath: target.basePath,
      connectTimeoutMs: upstream.connectTimeout,
      headersTimeoutMs: upstream.headersTimeout,
      bodyTimeoutMs: upstream.bodyTimeout,
      connections: upstream.connections,
    })
  }

  const memory: MemoryStoreConfig = {
    maxBytes: file.store.memory.maxSize,
    maxObjectBytes: file.store.memory.maxObjectSize,
  }
  const store: StoreConfig = { memory, redis: buildRedis(file.store.redis, overrides.redis) }
  const coalesce: CoalesceConfig = {
    lock: file.coalesce.lock,
    leaseMs: file.coalesce.lease,
    waitTimeoutMs: file.coalesce.waitTimeout,
    onTimeout: file.coalesce.onTimeout,
    hitForMissMs: file.coalesce.hitForMiss,
  }

  const routeFiles = file.routes ?? [routeSchema.parse({ name: 'default' })]
  return {
    listeners,
    server: {
      maxHeaderBytes: file.server.maxHeaderSize,
      maxBodyBytes: file.server.maxBodySize,
      requestTimeoutMs: file.server.requestTimeout,
      keepAliveTimeoutMs: file.server.keepAliveTimeout,
      drainTimeoutMs: file.server.drainTimeout,
      workers: overrides.workers ?? file.server.workers,
    },
    upstreams,
    store,
    coalesce,
    log: { ...file.log, level: overrides.logLevel ?? file.log.level },
    admin: buildAdmin(file.admin, overrides),
    purge: {
      tagHeaders: file.purge.tagHeaders,
      exposeTags: file.purge.exposeTags,
      method: file.purge.method,
      allow: file.purge.allow.map((block) => parseCidr(block) as CidrBlock),
    },
    routes: routeFiles.map((route, index) => buildRoute(route, index, upstreams, memory, coalesce, { headers: file.purge.tagHeaders, expose: file.purge.exposeTags })),
    source,
  }
}

/** The token: CORRAL_ADMIN_TOKEN, else the first line of admin.tokenFile (read at start-up and on reload). */
function buildAdmin(admin: ConfigFile['admin'], overrides: ResolvedOverrides): AdminConfig {
  const port = overrides.adminPort ?? admin.port
  if (overrides.adminToken !== undefined) return { host: admin.host, port, token: overrides.adminToken, tokenSource: 'CORRAL_ADMIN_TOKEN' }
  if (admin.tokenFile === undefined) return { host: admin.host, port, token: undefined, tokenSource: undefined }
  let token: string
  try {
    token = readFileSync(admin.tokenFile, 'utf8').split('\n')[0]?.trim() ?? ''
  } catch (err) {
    throw new TokenFileError(`admin.tokenFile: cannot read ${admin.tokenFile}: ${readProblem(err)}`)
  }
  if (token.length < MIN_TOKEN_LENGTH) throw new TokenFileError(`admin.tokenFile: ${admin.tokenFile} holds no token of ${MIN_TOKEN_LENGTH} characters or more`)
  return { host: admin.host, port, token, tokenSource: admin.tokenFile }
}

/** Shorter tokens are guessable; `openssl rand -hex 32` gives 64 characters. */
export const MIN_TOKEN_LENGTH = 16

class TokenFileError extends Error {}

/** `--redis` replaces where the file says Redis is, and keeps its other settings. */
function buildRedis(redis: ConfigFile['store']['redis'], url: string | undefined): RedisStoreConfig | undefined {
  if (redis === undefined && url === undefined) return undefined
  const r = redis ?? storeSchema.parse({ redis: { url } }).redis
  if (r === undefined) return undefined
  return {
    url: url ?? r.url,
    cluster: url === undefined ? r.cluster : undefined,
    prefix: r.prefix,
    commandTimeoutMs: r.timeout,
    connectTimeoutMs: r.connectTimeout,
    compressAboveBytes: r.compressAbove,
    l1: r.l1,
    breakerFailures: r.breakerFailures,
    breakerCooldownMs: r.breakerCooldown,
  }
}

function buildRoute(
  route: RouteFile,
  index: number,
  upstreams: ReadonlyMap<string, Upstream>,
  store: MemoryStoreConfig,
  coalesce: CoalesceConfig,
  tags: TagRule,
): Route {
  // crossFieldIssues guarantees a known upstream, or exactly one to default to
  const upstreamName = route.upstream ?? [...upstreams.keys()][0] ?? ''
  const upstream = upstreams.get(upstreamName)
  if (upstream === undefined) throw new Error(`routes[${index}]: upstream "${upstreamName}" not found`)
  const { host, methods } = route.match
  return {
    name: route.name ?? defaultRouteName(index),
    index,
    match: {
      hosts: host === undefined ? undefined : typeof host === 'string' ? [host] : host,
      path: buildPathMatcher(route.match),
      methods: methods === undefined ? undefined : new Set(methods),
    },
    upstream,
    cache: route.cache === null ? undefined : buildRouteCache(route.cache, store, coalesce, tags),
    hiddenFields: tags.expose ? [] : tags.headers,
  }
}

function buildPathMatcher(match: MatchFile): PathMatcher {
  if (match.path !== undefined) {
    // a plain string prefix, like nginx's `location /api`: '/api' also matches '/apix'
    const prefix = match.path
    return { source: prefix, kind: 'prefix', test: (path) => path.startsWith(prefix) }
  }
  if (match.glob !== undefined) {
    const regex = globToRegExp(match.glob)
    return { source: match.glob, kind: 'glob', test: (path) => regex.test(path) }
  }
  if (match.regex !== undefined) {
    const regex = new RegExp(match.regex)
    return { source: match.regex, kind: 'regex', test: (path) => regex.test(path) }
  }
  return { source: '*', kind: 'any', test: () => true }
}

/** Anchored at both ends; `*` is one segment's characters, `**` anything. */
export function globToRegExp(glob: string): RegExp {
  const pattern = glob
    .split(/(\*\*|\*)/)
    .map((part) => {
      if (part === '**') return '.*'
      if (part === '*') return '[^/]*'
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    })
    .join('')
  return new RegExp(`^${pattern}$`)
}

function buildRouteCache(cache: RouteCacheFile, store: MemoryStoreConfig, coalesce: CoalesceConfig, tags: TagRule): RouteCache {
  return {
    tags,
    defaultTtlMs: cache.ttl,
    statusTtlMs: cache.statusTtl,
    originCacheControl: cache.originCacheControl,
    staleWhileRevalidateMs: cache.staleWhileRevalidate,
    staleIfErrorMs: cache.staleIfError,
    retainStaleMs: cache.retainStale,
    staleIfDisconnectedMs: cache.staleIfDisconnected ?? Math.min(DEFAULT_STALE_IF_DISCONNECTED_MS, cache.retainStale),
    jitter: cache.jitter,
    maxObjectBytes: cache.maxObjectSize ?? store.maxObjectBytes,
    key: { query: buildQueryRecipe(cache.key.query), headers: cache.key.headers, cookies: cache.key.cookies },
    bypass: cache.bypass.map(buildBypassRule),
    heuristicFraction: cache.heuristic,
    setCookie: cache.setCookie,
    targetedFields: cache.targetedCacheControl,
    rangeOnMiss: cache.rangeOnMiss,
    clientCacheControl: cache.clientCacheControl === undefined ? undefined : cacheControl.stringify(cache.clientCacheControl),
    coalesce: {
      lock: cache.coalesce?.lock ?? coalesce.lock,
      leaseMs: cache.coalesce?.lease ?? coalesce.leaseMs,
      waitTimeoutMs: cache.coalesce?.waitTimeout ?? coalesce.waitTimeoutMs,
      onTimeout: cache.coalesce?.onTimeout ?? coalesce.onTimeout,
    },
    earlyRefresh: cache.earlyRefresh,
    notForwarded: notForwarded(cache),
  }
}

/** The built-in unkeyed overrides and the route's own, less what it allows or keys on. */
function notForwarded(cache: RouteCacheFile): ReadonlySet<string> {
  const kept = new Set([...cache.forwardHeaders, ...cache.key.headers])
  return new Set([...UNKEYED_OVERRIDES, ...cache.stripHeaders].filter((name) => !kept.has(name)))
}

function buildQueryRecipe(query: RouteCacheFile['key']['query']): QueryRecipe {
  if (query === 'all' || query === 'none') return { mode: query }
  if ('only' in query) return { mode: 'only', names: new Set(query.only) }
  return { mode: 'ignore', names: new Set(query.ignore) }
}

function buildBypassRule(rule: RouteCacheFile['bypass'][number]): BypassRule {
  const value = rule.equals
  if (rule.header !== undefined) return { kind: 'header', name: rule.header, value }
  if (rule.cookie !== undefined) return { kind: 'cookie', name: rule.cookie, value }
  if (rule.query !== undefined) return { kind: 'query', name: rule.query, value }
  throw new Error('bypass rule without header, cookie or query') // the schema rejects these
}

/** Freezes plain objects and arrays all the way down; Maps, Sets, URLs are kept as they are (their contents are frozen). */
function deepFreeze<T>(value: T): T {
  if (value instanceof Map) {
    for (const item of value.values() as Iterable<unknown>) deepFreeze(item)
  } else if (Array.isArray(value) || isPlainObject(value)) {
    Object.freeze(value)
    for (const item of Object.values(value as object) as unknown[]) deepFreeze(item)
  }
  return value
}

// ---------------------------------------------------------------- describe

/** A human-readable summary for `corral check`. */
export function describeConfig(config: Config): string {
  const { server, store, coalesce, log } = config
  const lines = [
    `source: ${config.source}`,
    `listeners: ${config.listeners.map((listener) => `${listener.host}:${listener.port}`).join(', ')}`,
    `server: maxHeaderSize=${formatSize(server.maxHeaderBytes)} maxBodySize=${formatSize(server.maxBodyBytes)}` +
      ` requestTimeout=${formatDuration(server.requestTimeoutMs)} keepAliveTimeout=${formatDuration(server.keepAliveTimeoutMs)}` +
      ` drainTimeout=${formatDuration(server.drainTimeoutMs)} workers=${server.workers}`,
    'upstreams:',
    ...[...config.upstreams.values()].map(
      (upstream) =>
        `  ${upstream.name}: ${upstream.url.href} connectTimeout=${formatDuration(upstream.connectTimeoutMs)}` +
        ` headersTimeout=${formatDuration(upstream.headersTimeoutMs)} bodyTimeout=${formatDuration(upstream.bodyTimeoutMs)}` +
        ` connections=${upstream.connections}`,
    ),
    `store: memory maxSize=${formatSize(store.memory.maxBytes)} maxObjectSize=${formatSize(store.memory.maxObjectBytes)}` +
      (store.redis === undefined ? '' : `; ${describeRedis(store.redis)}`),
    `coalesce: lock=${coalesce.lock} lease=${formatDuration(coalesce.leaseMs)} waitTimeout=${formatDuration(coalesce.waitTimeoutMs)}` +
      ` onTimeout=${coalesce.onTimeout} hitForMiss=${formatDuration(coalesce.hitForMissMs)}`,
    `log: level=${log.level} format=${log.format} access=${log.access ? 'on' : 'off'}${log.accessSample < 1 ? ` accessSample=${Math.round(log.accessSample * 10_000) / 100}%` : ''}`,
    `admin: ${config.admin.port === 0 ? 'off' : `${config.admin.host}:${config.admin.port} token=${config.admin.tokenSource ?? 'none (purge, reload and explain refused)'}`}`,
    `purge: tagHeaders=${config.purge.tagHeaders.join(',') || 'none'} exposeTags=${config.purge.exposeTags ? 'on' : 'off'}` +
      ` method=${config.purge.method ? `on from ${config.purge.allow.map((b) => `${b.address}/${b.prefix}`).join(',')}` : 'off'}`,
    'routes:',
    ...config.routes.map((route) => `  ${describeRoute(route, coalesce)}`),
  ]
  return lines.join('\n')
}

/** Where Redis is, without the password a URL may carry. */
function describeRedis(redis: RedisStoreConfig): string {
  const where = redis.url !== undefined ? withoutPassword(redis.url) : `cluster ${(redis.cluster ?? []).map(withoutPassword).join(',')}`
  return (
    `redis ${where} prefix=${redis.prefix} timeout=${formatDuration(redis.commandTimeoutMs)}` +
    ` compressAbove=${redis.compressAboveBytes === 0 ? 'off' : formatSize(redis.compressAboveBytes)}` +
    (redis.l1 ? '' : ' l1=off')
  )
}

export function withoutPassword(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.href
  } catch {
    return url
  }
}

function describeRoute(route: Route, coalesce: CoalesceConfig): string {
  const { hosts, path, methods } = route.match
  const match =
    `host=${hosts ? hosts.join(',') : '*'} path=${path.kind} ${path.source}` +
    ` methods=${methods ? [...methods].join(',') : '*'}`
  return `routes[${route.index}] ${route.name}: ${match} → ${route.upstream.name}; cache: ${describeCache(route.cache, coalesce)}`
}

function describeCache(cache: RouteCache | undefined, coalesce: CoalesceConfig): string {
  if (cache === undefined) return 'off'
  const parts = [`ttl=${cache.defaultTtlMs === undefined ? 'none' : formatDuration(cache.defaultTtlMs)}`]
  if (cache.statusTtlMs.size > 0) {
    parts.push(`status=${[...cache.statusTtlMs].map(([status, ms]) => `${status}:${formatDuration(ms)}`).join(',')}`)
  }
  parts.push(
    `originCacheControl=${cache.originCacheControl}`,
    `swr=${formatDuration(cache.staleWhileRevalidateMs)}`,
    `sie=${formatDuration(cache.staleIfErrorMs)}`,
    `retainStale=${formatDuration(cache.retainStaleMs)}`,
    `jitter=${Math.round(cache.jitter * 10_000) / 100}%`,
    `maxObjectSize=${formatSize(cache.maxObjectBytes)}`,
    `key=${describeKey(cache)}`,
  )
  // The rarer options only when they differ from their defaults, to keep the line readable.
  if (cache.heuristicFraction > 0) parts.push(`heuristic=${Math.round(cache.heuristicFraction * 10_000) / 100}%`)
  if (cache.setCookie !== 'refuse') parts.push(`setCookie=${cache.setCookie}`)
  if (cache.targetedFields.join(',') !== 'cdn-cache-control') parts.push(`targeted=${cache.targetedFields.join(',') || 'none'}`)
  if (cache.rangeOnMiss !== 'fetch') parts.push(`rangeOnMiss=${cache.rangeOnMiss}`)
  if (cache.staleIfDisconnectedMs !== DEFAULT_STALE_IF_DISCONNECTED_MS) parts.push(`staleIfDisconnected=${formatDuration(cache.staleIfDisconnectedMs)}`)
  if (cache.clientCacheControl !== undefined) parts.push(`clientCacheControl="${cache.clientCacheControl}"`)
  const builtIn = new Set(UNKEYED_OVERRIDES)
  const allowed = UNKEYED_OVERRIDES.filter((name) => !cache.notForwarded.has(name))
  const stripped = [...cache.notForwarded].filter((name) => !builtIn.has(name))
  if (allowed.length > 0) parts.push(`forwardHeaders=${allowed.join(',')}`)
  if (stripped.length > 0) parts.push(`stripHeaders=${stripped.join(',')}`)
  const c = cache.coalesce
  if (c.lock !== coalesce.lock || c.leaseMs !== coalesce.leaseMs || c.waitTimeoutMs !== coalesce.waitTimeoutMs || c.onTimeout !== coalesce.onTimeout) {
    parts.push(`coalesce=${c.lock}${c.lock === 'off' ? '' : `(lease=${formatDuration(c.leaseMs)},wait=${formatDuration(c.waitTimeoutMs)},onTimeout=${c.onTimeout})`}`)
  }
  if (cache.earlyRefresh > 0) parts.push(`earlyRefresh=${Math.round(cache.earlyRefresh * 10_000) / 100}%`)
  if (cache.bypass.length > 0) parts.push(`bypass=${cache.bypass.map(describeBypassRule).join(',')}`)
  return parts.join(' ')
}

function describeKey({ key }: RouteCache): string {
  const query = key.query
  let text = `query:${query.mode}`
  if (query.mode === 'only' || query.mode === 'ignore') text += `(${[...query.names].join(',')})`
  if (key.headers.length > 0) text += `+headers(${key.headers.join(',')})`
  if (key.cookies.length > 0) text += `+cookies(${key.cookies.join(',')})`
  return text
}

function describeBypassRule(rule: BypassRule): string {
  return `${rule.kind}:${rule.name}${rule.value === undefined ? '' : `=${rule.value}`}`
}

// ---------------------------------------------------------------- helpers

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Why a file could not be read, in words rather than node's `ENOENT: no such file or directory, open '…'`. */
function readProblem(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'it is a directory'
    default:
      return errorMessage(err)
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
