/**
 * A JSON Schema (draft-07) of the YAML config, generated from the zod schema the config is
 * validated with (schema.ts), for editors: with the `# yaml-language-server: $schema=…` line of
 * the examples, VS Code's YAML extension validates and completes as people type.
 *
 * It describes what people write (zod's `io: 'input'`): durations as "30s" or 0, sizes as "1MiB"
 * or bytes, `cache: true|false|{…}`. zod sees only `unknown` behind the scalars schema.ts parses
 * itself (durations, sizes, fractions, workers), so the generator asks each of those parsers what it
 * accepts (a probe: "1d", 0, "1500ms"…) and writes the matching input schema. Rules zod keeps in
 * refinements (URL schemes, host names, "exactly one of") are added here by path, with the
 * descriptions. What cannot be said in JSON Schema (cross-field sizes, an upstream a route names)
 * is left to `corral check`; where the two could differ, the JSON Schema errs on accepting
 * (test/unit/json-schema.test.ts holds them to the same verdicts on a table of documents).
 *
 * Draft-07 because that is what the YAML language server (redhat vscode-yaml) supports fully;
 * 2019-09 and 2020-12 only partly. `patternErrorMessage` is that server's keyword (other
 * validators ignore it), like its `errorMessage`: a problem in corral's words rather than as a regex.
 */
import { z } from 'zod'

import { UNKEYED_OVERRIDES } from '../policy/unkeyed.js'
import { formatDuration, formatSize } from './duration.js'
import {
  configFileSchema,
  DURATION_MESSAGE,
  REDIS_URL_MESSAGE,
  routeSchema,
  SIZE_MESSAGE,
  URL_MESSAGE,
  WORKERS_MESSAGE,
} from './schema.js'

/** A JSON Schema node, loosely typed for editing. */
export type JsonSchema = { [keyword: string]: unknown }

/** Where the generated file lives (committed; `npm run schema` rewrites it). */
export const SCHEMA_FILE = 'config/corral.schema.json'

// ---------------------------------------------------------------- scalars parsed by schema.ts

type Scalar = 'duration' | 'size' | 'fraction' | 'workers'

const DIGITS = '[0-9]+'
const NON_ZERO = '[0-9]*[1-9][0-9]*'

/** What a duration parser accepts: "500ms" "30s" "10m" "2h" "1d", or 0 (parseDuration). */
function durationInput(options: { zero: boolean; subSecond: boolean }): JsonSchema {
  const amount = options.zero ? DIGITS : NON_ZERO
  const ms = options.subSecond ? amount : options.zero ? '(?:0+|[0-9]*000)' : `${NON_ZERO}000`
  const zero = options.zero ? '0|' : ''
  const message = options.subSecond ? DURATION_MESSAGE : 'expected whole seconds, like "30s"'
  const text: JsonSchema = {
    type: 'string',
    pattern: `^(?:${zero}\\s*(?:${amount}\\s*(?:s|m|h|d)|${ms}\\s*ms)\\s*)$`,
    patternErrorMessage: message,
  }
  return {
    // the editor reports `30` as the first alternative's wrong type: say what is meant instead
    ...(options.zero ? { anyOf: [{ ...text, errorMessage: `${message}, or 0 (a bare number is ambiguous)` }, { const: 0 }] } : text),
    examples: options.subSecond ? ['30s', '500ms', '10m'] : ['30s', '10m', '1h'],
    $comment: options.subSecond
      ? `A duration${options.zero ? '' : ' longer than 0'}: "500ms" "30s" "10m" "2h" "1d"${options.zero ? ', or 0' : ''}.`
      : `In whole seconds: "30s" "10m" "1h"${options.zero ? ', or 0' : ''}.`,
  }
}

/** What a size parser accepts: bytes, or "512B" "64KB" "64KiB" "1MiB" "2GiB" (parseSize). */
function sizeInput(options: { zero: boolean }): JsonSchema {
  const amount = options.zero ? DIGITS : NON_ZERO
  return {
    type: ['string', 'integer'],
    minimum: options.zero ? 0 : 1,
    maximum: Number.MAX_SAFE_INTEGER,
    pattern: `^\\s*${amount}\\s*(?:B|KB|MB|GB|KiB|MiB|GiB)?\\s*$`,
    patternErrorMessage: SIZE_MESSAGE,
    examples: ['64KiB', '1MiB', '256MiB'],
    $comment: `A size${options.zero ? '' : ' larger than 0'}: bytes, or "512B" "64KB" "64KiB" "1MiB" "2GiB" (KB, MB, GB count in 1000s; KiB, MiB, GiB in 1024s).`,
  }
}

/** A fraction 0..1, or a percentage 0%..100% (parseFraction in schema.ts). */
function fractionInput(): JsonSchema {
  return {
    type: ['string', 'number'],
    minimum: 0,
    maximum: 1,
    pattern: '^\\s*0*(?:100(?:\\.0+)?|[0-9]{1,2}(?:\\.[0-9]+)?)\\s*%\\s*$',
    patternErrorMessage: 'expected a percentage like "10%" or a fraction 0..1',
    examples: ['10%', 0.1],
    $comment: 'A fraction: "10%" or 0.1 (0..1).',
  }
}

/** 1..256 processes, or auto (parseWorkers in schema.ts). */
function workersInput(): JsonSchema {
  return {
    type: ['string', 'integer'],
    minimum: 1,
    maximum: 256,
    pattern: '^(?:auto|0*(?:[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-6]))$',
    patternErrorMessage: WORKERS_MESSAGE,
    examples: ['auto', 1, 4],
  }
}

/**
 * The input schema of a `z.unknown().transform(parse)`, found by asking the parser: the probes tell
 * the kind of value and the refinements on it (> 0, whole seconds). Undefined for a parser that
 * takes none of them (the test on the generated schema names it).
 */
function scalarInput(schema: z.core.$ZodType): { kind: Scalar; json: JsonSchema } | undefined {
  const accepts = (value: unknown) => z.safeParse(schema, value).success
  if (accepts('1d')) return { kind: 'duration', json: durationInput({ zero: accepts(0), subSecond: accepts('1500ms') }) }
  if (accepts('1MiB')) return { kind: 'size', json: sizeInput({ zero: accepts(0) }) }
  if (accepts('10%')) return { kind: 'fraction', json: fractionInput() }
  if (accepts('auto')) return { kind: 'workers', json: workersInput() }
  return undefined
}

/** A default as people would write it: 60000 ms → "1m", 16384 bytes → "16KiB". */
function inputDefault(kind: Scalar, value: unknown): unknown {
  if (typeof value !== 'number') return value
  if (kind === 'duration') return formatDuration(value)
  if (kind === 'size') return formatSize(value)
  return value
}

function replace(target: JsonSchema, source: JsonSchema): void {
  for (const key of Object.keys(target)) delete target[key]
  Object.assign(target, source)
}

// ---------------------------------------------------------------- what zod's refinements check

const HOST = '^(?:\\*\\.)?[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*$'
const HTTP_URL = '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s]+(?:/[^?#\\s]*)?$'
const REDIS_URL = '^[Rr][Ee][Dd][Ii][Ss][Ss]?://(?:[^/?#@\\s]*@)?[^/?#@\\s]+(?:/[0-9]*)?(?:[?#].*)?$'
const PATH = '^/'
const CIDR = '^[0-9A-Fa-f:.]+(?:%[0-9A-Za-z._-]+)?(?:/[0-9]{1,3})?$'
const STATUS_KEY = '^[1-5](?:[0-9][0-9]|[Xx][Xx])$'

/** Constraints on string values at a path (on each string of a union or list there). */
const STRING_RULES: Record<string, JsonSchema> = {
  'upstreams.*.url': {
    pattern: HTTP_URL,
    patternErrorMessage: `${URL_MESSAGE}, without query string, fragment or credentials`,
    examples: ['http://127.0.0.1:3000', 'https://api.internal/v1'],
  },
  'store.redis.url': { pattern: REDIS_URL, patternErrorMessage: REDIS_URL_MESSAGE, examples: ['redis://127.0.0.1:6379/0'] },
  'store.redis.cluster': { pattern: REDIS_URL, patternErrorMessage: REDIS_URL_MESSAGE },
  'routes[].match.host': {
    pattern: HOST,
    patternErrorMessage: 'expected a host name like "api.example.com" or "*.example.com", without port',
  },
  'routes[].match.path': { pattern: PATH, patternErrorMessage: "must start with '/'" },
  'routes[].match.glob': { pattern: PATH, patternErrorMessage: "must start with '/'" },
  'routes[].match.regex': { format: 'regex' },
  'routes[].match.methods': { examples: ['GET', 'HEAD', 'POST'] },
  'routes[].cache.forwardHeaders': { examples: [...UNKEYED_OVERRIDES] },
  'purge.allow': {
    pattern: CIDR,
    patternErrorMessage: 'expected an address or a CIDR block like 10.0.0.0/8 or ::1/128',
    examples: ['127.0.0.1/32', '10.0.0.0/8', '::1/128'],
  },
}

/**
 * Exactly one of these keys: at least one (anyOf … required: "Missing property") and none with
 * another (dependencies: "Property … is not allowed"), which read better in an editor than
 * oneOf's "Matches multiple schemas".
 */
function exactlyOne(keys: readonly string[]): JsonSchema {
  const others = (key: string) => Object.fromEntries(keys.filter((other) => other !== key).map((other) => [other, false]))
  return {
    anyOf: keys.map((key) => ({ required: [key] })),
    dependencies: Object.fromEntries(keys.map((key) => [key, { properties: others(key) }])),
  }
}

/** Keywords for the node at a path: what zod checks in refinements, as far as JSON Schema can say it. */
const NODE_RULES: Record<string, JsonSchema> = {
  upstreams: { minProperties: 1 },
  'store.redis': { ...exactlyOne(['url', 'cluster']) },
  'routes[].match': { dependencies: exactlyOne(['path', 'glob', 'regex']).dependencies },
  // YAML reads `200:` as a number key: the editor sees a number, JSON (and corral) a string
  'routes[].cache.statusTtl': {
    propertyNames: {
      pattern: STATUS_KEY,
      patternErrorMessage: 'expected a status code 100..599 or a class like "5xx"',
      minimum: 100,
      maximum: 599,
    },
  },
  'routes[].cache.bypass[]': { ...exactlyOne(['header', 'cookie', 'query']) },
  'routes[].cache.clientCacheControl': { minProperties: 1 },
  purge: {
    if: { properties: { method: { const: true } }, required: ['method'] },
    then: { properties: { allow: { type: 'array', minItems: 1 } }, required: ['allow'] },
  },
}

// ---------------------------------------------------------------- descriptions (docs/configuration.md)

export const DESCRIPTIONS: Record<string, string> = {
  '': 'corral configuration (docs/configuration.md). Check a file with `corral check <file>`.',

  listeners: 'Where corral accepts client connections. --port / --host (CORRAL_PORT) replace the first one.',
  'listeners[].host': 'Address to bind.',
  'listeners[].port': 'Port to bind (0..65535); 0 picks a free port.',

  server: 'Limits on client connections.',
  'server.maxHeaderSize': 'Largest request line + headers; larger → 431.',
  'server.maxBodySize': 'Largest request body forwarded to an origin; larger → 413.',
  'server.requestTimeout': 'Time allowed to receive a whole request (0: no limit).',
  'server.keepAliveTimeout': 'Idle time of a client keep-alive connection.',
  'server.drainTimeout': 'On SIGTERM/SIGINT, how long in-flight requests may finish before connections are cut.',
  'server.workers': 'Worker processes sharing the listeners (node:cluster): 1..256, or auto (one per CPU core). --workers replaces it.',

  upstreams: 'The origins, by name (letters, digits, "_" and "-"); routes refer to them by name. At least one.',
  'upstreams.*': 'An origin.',
  'upstreams.*.url':
    'The origin: an http:// or https:// URL. A path is prepended to every forwarded path (http://host/v1 + /users → /v1/users). No query string, fragment or credentials.',
  'upstreams.*.connectTimeout': 'Time to open a connection.',
  'upstreams.*.headersTimeout': 'Time until the response headers arrive.',
  'upstreams.*.bodyTimeout': 'Longest pause while the response body streams.',
  'upstreams.*.connections': 'Size of the connection pool (1..10000).',

  store: 'Where responses are kept: memory, and Redis in fleet mode.',
  'store.memory': 'The in-memory LRU (with redis: each process\'s L1).',
  'store.memory.maxSize': 'Byte budget of the in-memory LRU; with redis, the budget of each process\'s L1.',
  'store.memory.maxObjectSize': 'Largest response stored; larger ones stream through uncached. At most maxSize.',
  'store.redis':
    'Fleet mode: every instance (and worker) using the same Redis and prefix is one cache with one origin fetch per key. Exactly one of url and cluster; --redis replaces where it is.',
  'store.redis.url': 'One server: redis:// (rediss:// for TLS), with user, password and database number in the URL.',
  'store.redis.cluster': 'The seed nodes of a Redis Cluster (credentials and TLS from the first).',
  'store.redis.prefix': 'Namespace of every key and channel (letters, digits, "_" "." "-"); the format version is added (corral:v1:).',
  'store.redis.timeout': 'A command that takes longer counts as a failure: the request goes on without Redis.',
  'store.redis.connectTimeout': 'Time to connect to Redis.',
  'store.redis.compressAbove': 'Bodies larger than this are stored deflated (when that makes them smaller); 0: never.',
  'store.redis.l1': 'Keep hot entries in each process\'s memory (store.memory) in front of Redis; false: every lookup asks Redis.',
  'store.redis.breakerFailures': 'Consecutive failures (errors, timeouts) after which Redis is skipped for a while (1..1000).',
  'store.redis.breakerCooldown': 'How long Redis is skipped before one request tries it again.',

  coalesce: 'Request coalescing: concurrent misses for one key make one origin request. Routes may set their own (cache.coalesce).',
  'coalesce.lock':
    'distributed: one fetch per key for every process sharing the store; local: one per process; off: every request fetches for itself.',
  'coalesce.lease': 'The fleet lock\'s lease, renewed while the fetch runs: a dead holder\'s waiters take over after this long.',
  'coalesce.waitTimeout': 'Longest a request waits for another\'s fetch.',
  'coalesce.onTimeout':
    'When the wait runs out: stale serves a stale copy if one may be served, else fetches; fetch fetches; error serves a stale copy if it may, else 503.',
  'coalesce.hitForMiss': 'After a response that cannot be shared, requests for that key skip coalescing this long (Varnish\'s hit-for-miss).',

  log: 'Logging (JSON to stdout, or pretty on a terminal).',
  'log.level': 'Least severe level logged. --log-level replaces it.',
  'log.format': 'auto: pretty when stdout is a terminal, JSON otherwise.',
  'log.access': 'One summary line per request.',
  'log.accessSample': 'The share of requests that get an access line ("10%" or 0.1); 5xx answers and aborted requests always do. 1: every request.',

  admin: 'The admin listener (purge, metrics, health, reload, explain), apart from client traffic.',
  'admin.host': 'Address of the admin listener.',
  'admin.port': 'Port of the admin listener; 0 turns it off. --admin-port replaces it.',
  'admin.tokenFile': 'A file whose first line is the admin API\'s bearer token (CORRAL_ADMIN_TOKEN wins over it).',

  purge: 'Purging: tags, and the PURGE method on the client listeners.',
  'purge.tagHeaders': 'Response fields whose space- or comma-separated values tag an entry, for purge by tag.',
  'purge.exposeTags': 'Keep the tag fields in what clients receive (they are stripped by default).',
  'purge.method': 'Accept the PURGE request method on the client listeners, from the addresses in allow only.',
  'purge.allow': 'Client addresses allowed to send PURGE: addresses or CIDR blocks (10.0.0.0/8, ::1/128).',

  routes:
    'Tried in order; the first route that matches a request handles it, and a request that matches none gets 404. Left out: one catch-all route to the only upstream.',
  'routes[].name': 'Shown in logs, metrics and corral check; unique. Default: route-<index>.',
  'routes[].match': 'Conditions a request must all meet; left out: every request.',
  'routes[].match.host':
    'The request\'s host (without port, case-insensitive), or a list; "*.example.com" matches any subdomain. A port here is an error.',
  'routes[].match.path': 'A plain string prefix of the path, like nginx\'s location: /api matches /api, /api/users and /apix. At most one of path, glob and regex.',
  'routes[].match.glob': 'The whole path: * matches within one segment, ** anything (/assets/**). At most one of path, glob and regex.',
  'routes[].match.regex': 'A JavaScript regular expression tested against the path (without query); not anchored unless you anchor it. At most one of path, glob and regex.',
  'routes[].match.methods': 'Request methods, e.g. [GET, HEAD]; any method when left out.',
  'routes[].upstream': 'The upstream (by name) this route forwards to; required when there are several.',
  'routes[].cache':
    'false: every request goes to the origin (BYPASS). true or left out: caching with every default. A mapping: caching with these settings.',

  'routes[].cache.ttl': 'Freshness when the origin gives none. Without it (and without a matching statusTtl), such responses are not stored.',
  'routes[].cache.statusTtl.*': 'How long responses with this status are fresh when the origin says nothing (always, with originCacheControl: override); 0: never stored.',
  'routes[].cache.statusTtl':
    'Per status, like nginx\'s proxy_cache_valid: codes (200) or classes (5xx) → duration; an exact code wins over its class; 0: never store this status.',
  'routes[].cache.originCacheControl': 'honor: the origin\'s Cache-Control/Expires win. override: statusTtl/ttl replace them (no-store, private and Set-Cookie still prevent storing).',
  'routes[].cache.staleWhileRevalidate': 'Serve a stale copy this long while it is refreshed in the background, when the origin sends no stale-while-revalidate.',
  'routes[].cache.staleIfError': 'Serve a stale copy this long when the origin fails, when it sends no stale-if-error.',
  'routes[].cache.retainStale': 'How long an entry is kept after it goes stale (for revalidation, stale-if-error, and a disconnected origin).',
  'routes[].cache.staleIfDisconnected':
    'Serve a stale copy up to this long past staleness when the origin cannot be reached or times out (RFC 9111 §4.2.4); default 5m, or retainStale when shorter; at most retainStale; 0: off.',
  'routes[].cache.jitter': 'Shortens each entry\'s freshness by a random part up to this fraction, so entries stored together do not expire together.',
  'routes[].cache.maxObjectSize': 'Largest response stored for this route; at most store.memory.maxObjectSize (the default).',
  'routes[].cache.key': 'What makes two requests share an entry (the method, scheme, host and path always do); the origin is asked the same.',
  'routes[].cache.key.query': 'Which query parameters count, sorted by name: all, none, {only: [names]} or {ignore: [names]}.',
  'routes[].cache.key.query.only': 'Only these parameters count (and reach the origin).',
  'routes[].cache.key.query.ignore': 'Every parameter but these counts (these never reach the origin).',
  'routes[].cache.key.headers': 'Request headers whose values join the key (case-insensitive names).',
  'routes[].cache.key.cookies': 'Cookies whose values join the key.',
  'routes[].cache.bypass': 'A request matching any of these rules skips the cache (BYPASS).',
  'routes[].cache.bypass[]': 'Exactly one of header, cookie or query, and optionally equals; without equals, presence is enough.',
  'routes[].cache.bypass[].header': 'A request header name.',
  'routes[].cache.bypass[].cookie': 'A cookie name.',
  'routes[].cache.bypass[].query': 'A query parameter name.',
  'routes[].cache.bypass[].equals': 'The value that triggers the rule (compared as text).',
  'routes[].cache.heuristic':
    'Heuristic freshness (RFC 9111 §4.2.2) for responses with Last-Modified and no explicit freshness: this fraction of the time since Last-Modified (10% is usual), at most a day; 0: off.',
  'routes[].cache.setCookie': 'A response with Set-Cookie: refuse does not store it; strip stores it without Set-Cookie.',
  'routes[].cache.targetedCacheControl':
    'Targeted cache-control fields (RFC 9213) in order of precedence: the first one present replaces Cache-Control and Expires for corral; [] turns them off.',
  'routes[].cache.rangeOnMiss': 'A Range request for an object not stored: fetch gets the whole object and answers the range from it; pass forwards the range.',
  'routes[].cache.clientCacheControl':
    'The Cache-Control clients receive on responses served from or stored in the cache, in place of the origin\'s, by directive name. With key.headers or key.cookies it must say private: true (or no-store: true).',
  'routes[].cache.clientCacheControl.public': 'public',
  'routes[].cache.clientCacheControl.private': 'private: no cache past corral may store it.',
  'routes[].cache.clientCacheControl.no-store': 'no-store',
  'routes[].cache.clientCacheControl.no-cache': 'no-cache',
  'routes[].cache.clientCacheControl.must-revalidate': 'must-revalidate',
  'routes[].cache.clientCacheControl.proxy-revalidate': 'proxy-revalidate',
  'routes[].cache.clientCacheControl.immutable': 'immutable',
  'routes[].cache.clientCacheControl.no-transform': 'no-transform',
  'routes[].cache.clientCacheControl.max-age': 'max-age, counted by clients from the Age corral sends.',
  'routes[].cache.clientCacheControl.s-maxage': 's-maxage',
  'routes[].cache.clientCacheControl.stale-while-revalidate': 'stale-while-revalidate',
  'routes[].cache.clientCacheControl.stale-if-error': 'stale-if-error',
  'routes[].cache.coalesce': 'This route\'s own coalescing; what it leaves out comes from the top-level coalesce.',
  'routes[].cache.coalesce.lock': 'distributed, local or off (see the top-level coalesce.lock).',
  'routes[].cache.coalesce.lease': 'The fleet lock\'s lease (see the top-level coalesce.lease).',
  'routes[].cache.coalesce.waitTimeout': 'Longest a request waits for another\'s fetch.',
  'routes[].cache.coalesce.onTimeout': 'stale, fetch or error (see the top-level coalesce.onTimeout).',
  'routes[].cache.earlyRefresh':
    'Within the last fraction of an entry\'s freshness, hits refresh it in the background with a growing probability, so a hot entry never goes stale; "10%" is a good start; 0: off.',
  'routes[].cache.forwardHeaders': 'Request fields corral would not forward on cache fetches (docs/configuration.md, "Fields not forwarded") that it should forward after all.',
  'routes[].cache.stripHeaders': 'More request fields not to forward on this route\'s cache fetches.',
}

// ---------------------------------------------------------------- paths in the generated schema

function asSchema(value: unknown): JsonSchema | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonSchema) : undefined
}

/** A union's alternatives (cache: false | {…}; host: a name | a list). */
function branchesOf(node: JsonSchema): JsonSchema[] {
  const branches: unknown[] = Array.isArray(node.anyOf) ? node.anyOf : []
  return branches.flatMap((branch): JsonSchema[] => {
    const schema = asSchema(branch)
    return schema === undefined ? [] : [schema]
  })
}

/** One step down: a key of a mapping, `[]` a list's items, `*` a record's values; through unions. */
function childAt(node: JsonSchema, step: string): JsonSchema | undefined {
  const own =
    step === '[]'
      ? asSchema(node.items)
      : step === '*'
        ? asSchema(node.additionalProperties)
        : asSchema(asSchema(node.properties)?.[step])
  if (own !== undefined) return own
  for (const branch of branchesOf(node)) {
    const found = childAt(branch, step)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * The node for a config path: "server.workers", "upstreams.*.url" (a record's values),
 * "routes[].cache.ttl" (a list's items); "" is the document. Undefined when the schema has no
 * such path.
 */
export function schemaAt(root: JsonSchema, path: string): JsonSchema | undefined {
  if (path === '') return root
  let node: JsonSchema | undefined = root
  for (const step of path.replace(/\[\]/g, '.[]').replace(/^\./, '').split('.')) {
    node = node === undefined ? undefined : childAt(node, step)
  }
  return node
}

/** The node itself when it is a mapping, else its mapping alternative. */
function mappingOf(node: JsonSchema): JsonSchema | undefined {
  if (node.type === 'object') return node
  return branchesOf(node).find((branch) => branch.type === 'object')
}

/** The string nodes at a node: itself, its union's alternatives, a list's items. */
function stringsAt(node: JsonSchema): JsonSchema[] {
  if (node.type === 'string') return [node]
  const items = asSchema(node.items)
  return [...(items === undefined ? [] : [items]), ...branchesOf(node)].flatMap(stringsAt)
}

/** Calls `visit` with every node that has a config path: keys, list items, record values. */
export function eachNode(root: JsonSchema, visit: (path: string, node: JsonSchema) => void, path = ''): void {
  visit(path, root)
  eachChild(root, visit, path)
}

function eachChild(node: JsonSchema, visit: (path: string, node: JsonSchema) => void, path: string): void {
  for (const [key, child] of Object.entries(asSchema(node.properties) ?? {})) {
    const schema = asSchema(child)
    if (schema !== undefined) eachNode(schema, visit, path === '' ? key : `${path}.${key}`)
  }
  const values = asSchema(node.additionalProperties)
  if (values !== undefined) eachNode(values, visit, `${path}.*`)
  const items = asSchema(node.items)
  if (items !== undefined) eachNode(items, visit, `${path}[]`)
  for (const branch of branchesOf(node)) eachChild(branch, visit, path)
}

function required(root: JsonSchema, path: string): JsonSchema {
  const node = schemaAt(root, path)
  if (node === undefined) throw new Error(`json-schema.ts names ${path || '(top level)'}, which the config schema does not have`)
  return node
}

// ---------------------------------------------------------------- the generator

/** Keyword order in the written file: what a person reads first. */
const FIRST = ['$schema', '$id', 'title', 'description', 'default', 'examples', 'type']

function ordered(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(ordered)
  if (typeof node !== 'object' || node === null) return node
  const entries = Object.entries(node)
  const rank = (key: string) => (FIRST.includes(key) ? FIRST.indexOf(key) : FIRST.length)
  entries.sort(([a], [b]) => rank(a) - rank(b))
  return Object.fromEntries(entries.map(([key, value]) => [key, ordered(value)]))
}

/** The JSON Schema of the YAML config. */
export function configJsonSchema(): JsonSchema {
  const kinds = new WeakMap<z.core.$ZodType, Scalar>()
  const generated = z.toJSONSchema(configFileSchema, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const json = jsonSchema as JsonSchema
      if (zodSchema instanceof z.core.$ZodPipe && zodSchema._zod.def.in instanceof z.core.$ZodUnknown) {
        // a scalar schema.ts parses itself: zod only knows it takes `unknown`
        const scalar = scalarInput(zodSchema)
        if (scalar !== undefined) {
          kinds.set(zodSchema, scalar.kind)
          replace(json, scalar.json)
        }
      } else if (zodSchema instanceof z.core.$ZodDefault) {
        // zod drops the defaults of transformed values in input mode: write them as people would
        const kind = kinds.get(zodSchema._zod.def.innerType)
        if (kind !== undefined) json.default = inputDefault(kind, zodSchema._zod.def.defaultValue)
      } else if (zodSchema instanceof z.core.$ZodObject && Array.isArray(json.required)) {
        // a key whose schema takes `undefined` (a z.preprocess that fills it in) may be left out
        const shape = zodSchema._zod.def.shape
        const needed = (json.required as string[]).filter((key) => {
          const field = shape[key]
          return field === undefined || !z.safeParse(field, undefined).success
        })
        if (needed.length > 0) json.required = needed
        else delete json.required
      } else if (zodSchema === routeSchema.shape.cache) {
        // z.preprocess turns `true` (and no key) into {}: zod shows only false | {…}. The mapping
        // first: on a tie the YAML language server reports the first alternative's problem, and a
        // misspelt key is the likely one, not a mapping where true or false was meant.
        const alternatives: unknown[] = Array.isArray(json.anyOf) ? json.anyOf : []
        const mappings = alternatives.filter((alternative) => asSchema(alternative)?.type === 'object')
        replace(json, { default: true, anyOf: [...mappings, { type: 'boolean' }] })
      }
    },
  }) as JsonSchema

  const root = JSON.parse(JSON.stringify(generated)) as JsonSchema
  root.title = 'corral configuration'

  // a mapping that may be left out is the same as an empty one: `default: {}` says nothing
  eachNode(root, (_path, node) => {
    const fallback = asSchema(node.default)
    if (node.type === 'object' && fallback !== undefined && Object.keys(fallback).length === 0) delete node.default
  })
  required(root, 'listeners').default = configFileSchema.shape.listeners.parse(undefined)

  for (const [path, rules] of Object.entries(STRING_RULES)) {
    const strings = stringsAt(required(root, path))
    if (strings.length === 0) throw new Error(`json-schema.ts: no string at ${path}`)
    for (const node of strings) Object.assign(node, rules)
  }
  for (const [path, rules] of Object.entries(NODE_RULES)) {
    const mapping = mappingOf(required(root, path))
    if (mapping === undefined) throw new Error(`json-schema.ts: no mapping at ${path}`)
    Object.assign(mapping, rules)
  }
  for (const [path, description] of Object.entries(DESCRIPTIONS)) required(root, path).description = description
  // how a scalar is written, after what it means
  eachNode(root, (_path, node) => {
    if (typeof node.$comment !== 'string') return
    node.description = typeof node.description === 'string' ? `${node.description} ${node.$comment}` : node.$comment
    delete node.$comment
  })

  return ordered(root) as JsonSchema
}

/** The file's text: what `corral schema` prints and config/corral.schema.json holds. */
export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`
}
