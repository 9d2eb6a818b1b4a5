/**
 * The YAML file's shape: every key, its type and its default. Unknown keys are rejected.
 * Parsing turns durations into ms and sizes into bytes; cross-field rules (route → upstream,
 * unique route names, object size limits) live in index.ts, which also builds the `Config`.
 */
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { z } from 'zod'

import { UNKEYED_OVERRIDES } from '../policy/unkeyed.js'
import { formatDuration, formatSize, parseDuration, parseSize } from './duration.js'
import type { LogLevel } from './types.js'

export const DURATION_MESSAGE = 'expected a duration like "30s"'
export const SIZE_MESSAGE = 'expected a size like "1MiB"'
export const URL_MESSAGE = 'expected an http:// or https:// URL'
export const PORT_MESSAGE = 'expected a port number 0..65535'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LogLevel[]

export const UPSTREAM_NAME = /^[A-Za-z0-9_-]+$/

const KiB = 1_024
const MiB = 1_048_576

/** A field-level message, except when the key is missing: then the parse-wide map says "required". */
function expecting(message: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? undefined : message)
}

const TYPE_NAMES: Partial<Record<string, string>> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
}

/** Messages for zod's own issues, used for every parse (field-level messages take precedence). */
export const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required'
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}`
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${issue.minimum} item(s)`
      if (issue.origin === 'string') return 'must not be empty'
      return `must be at least ${issue.minimum}`
    case 'too_big':
      return `must be at most ${issue.maximum}`
    case 'unrecognized_keys':
      return 'unknown key'
    default:
      return undefined
  }
}

/** A YAML scalar run through one of the duration.ts parsers; any failure is the one fixed message. */
function parsedWith(parse: (input: string | number) => number, message: string) {
  return z.unknown().transform((input, ctx) => {
    if (typeof input === 'string' || typeof input === 'number') {
      try {
        return parse(input)
      } catch {
        // reported below, with the same message as a wrong type
      }
    }
    ctx.issues.push({ code: 'custom', message, input })
    return z.NEVER
  })
}

export const durationSchema = parsedWith(parseDuration, DURATION_MESSAGE)
export const sizeSchema = parsedWith(parseSize, SIZE_MESSAGE)
const positiveSize = sizeSchema.refine((bytes) => bytes > 0, 'must be greater than 0')

const port = z
  .number({ error: expecting(PORT_MESSAGE) })
  .int(PORT_MESSAGE)
  .min(0, PORT_MESSAGE)
  .max(65_535, PORT_MESSAGE)

const nonEmptyString = z.string().min(1)

// ---------------------------------------------------------------- listeners, server

const listenerSchema = z.strictObject({
  host: nonEmptyString.default('0.0.0.0'),
  port: port.default(8080),
})

export const WORKERS_MESSAGE = 'expected a number of processes 1..256, or auto (one per CPU core)'

/** `auto` → one per core; otherwise 1..256 (more processes than that is a mistake, not a setting). */
export function parseWorkers(input: unknown): number | undefined {
  if (input === 'auto') return Math.max(1, availableParallelism())
  const n = typeof input === 'string' && /^\d+$/.test(input) ? Number(input) : input
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 256 ? n : undefined
}

const workersSchema = z.unknown().transform((input, ctx) => {
  const n = parseWorkers(input)
  if (n !== undefined) return n
  ctx.issues.push({ code: 'custom', message: WORKERS_MESSAGE, input })
  return z.NEVER
})

const serverSchema = z.strictObject({
  maxHeaderSize: positiveSize.default(16 * KiB),
  maxBodySize: sizeSchema.default(10 * MiB),
  requestTimeout: durationSchema.default(60_000),
  keepAliveTimeout: durationSchema.default(5_000),
  drainTimeout: durationSchema.default(10_000),
  workers: workersSchema.default(1),
})

// ---------------------------------------------------------------- upstreams

export interface UpstreamTarget {
  readonly url: URL
  /** `scheme://host[:port]` */
  readonly origin: string
  /** The URL's path without a trailing slash ('' when none). */
  readonly basePath: string
}

/** Validates an upstream base URL; throws an Error whose message is the issue text. */
export function parseUpstreamUrl(input: string): UpstreamTarget {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new Error(URL_MESSAGE)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(URL_MESSAGE)
  if (url.username !== '' || url.password !== '') throw new Error('must not contain credentials')
  // `url.search` is '' for a bare trailing '?', so look at the text as well
  if (url.search !== '' || input.includes('?')) throw new Error('must not have a query string')
  if (url.hash !== '' || input.includes('#')) throw new Error('must not have a fragment')
  return { url, origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') }
}

const upstreamUrl = z.string({ error: expecting(URL_MESSAGE) }).transform((input, ctx) => {
  try {
    return parseUpstreamUrl(input)
  } catch (err) {
    ctx.issues.push({ code: 'custom', message: (err as Error).message, input })
    return z.NEVER
  }
})

const upstreamSchema = z.strictObject({
  url: upstreamUrl,
  connectTimeout: durationSchema.default(5_000),
  headersTimeout: durationSchema.default(30_000),
  bodyTimeout: durationSchema.default(30_000),
  connections: z
    .number()
    .int('expected an integer 1..10000')
    .min(1, 'expected an integer 1..10000')
    .max(10_000, 'expected an integer 1..10000')
    .default(128),
})

const upstreamsSchema = z
  .record(z.string().regex(UPSTREAM_NAME, 'upstream names may use only letters, digits, "_" and "-"'), upstreamSchema)
  .refine((upstreams) => Object.keys(upstreams).length > 0, 'expected at least one upstream')

// ---------------------------------------------------------------- store, coalesce, log

const memoryStoreSchema = z
  .strictObject({
    maxSize: positiveSize.default(256 * MiB),
    maxObjectSize: sizeSchema.default(8 * MiB),
  })
  .superRefine((memory, ctx) => {
    if (memory.maxObjectSize > memory.maxSize) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxObjectSize'],
        message: `must not be larger than store.memory.maxSize (${formatSize(memory.maxSize)})`,
      })
    }
  })

export const REDIS_URL_MESSAGE = 'expected a redis:// or rediss:// URL'

/** Validates a Redis URL; throws an Error whose message is the issue text. */
export function parseRedisUrl(input: string): string {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new Error(REDIS_URL_MESSAGE)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(REDIS_URL_MESSAGE)
  if (url.hostname === '') throw new Error('expected a host name')
  const db = url.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db)) throw new Error('the path may only name a database number, like redis://host:6379/0')
  return input
}

const redisUrl = z.string({ error: expecting(REDIS_URL_MESSAGE) }).transform((input, ctx) => {
  try {
    return parseRedisUrl(input)
  } catch (err) {
    ctx.issues.push({ code: 'custom', message: (err as Error).message, input })
    return z.NEVER
  }
})

const positiveDuration = durationSchema.refine((ms) => ms > 0, 'must be longer than 0')

const redisStoreSchema = z
  .strictObject({
    url: redisUrl.optional(),
    cluster: z.array(redisUrl).min(1).optional(),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, "_", "." and "-" (the format version and ":" are added)')
      .default('corral'),
    timeout: positiveDuration.default(250),
    connectTimeout: positiveDuration.default(2_000),
    compressAbove: sizeSchema.default(64 * KiB),
    l1: z.boolean().default(true),
    breakerFailures: z.number().int().min(1).max(1_000).default(3),
    breakerCooldown: positiveDuration.default(1_000),
  })
  .superRefine((redis, ctx) => {
    if ((redis.url === undefined) === (redis.cluster === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of url (one server) or cluster (seed nodes of a Redis Cluster)' })
    }
  })

export const storeSchema = z.strictObject({ memory: memoryStoreSchema.prefault({}), redis: redisStoreSchema.optional() }).prefault({})

const lockSchema = z.enum(['distributed', 'local', 'off'])
const onTimeoutSchema = z.enum(['stale', 'fetch', 'error'])

/** The admin listener (src/admin): purge, metrics, health, reload, explain. Port 0: off. */
const adminSchema = z.strictObject({
  host: nonEmptyString.default('127.0.0.1'),
  port: port.default(9090),
  /** A file holding the bearer token (CORRAL_ADMIN_TOKEN wins over it). */
  tokenFile: nonEmptyString.optional(),
})

/** `10.0.0.0/8`, `::1/128`, or one address. */
const cidrSchema = nonEmptyString.superRefine((text, ctx) => {
  if (parseCidr(text) === undefined) ctx.addIssue({ code: 'custom', message: `expected an address or a CIDR block like 10.0.0.0/8 or ::1/128, got "${text}"` })
})

export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', bits, extra] = text.split('/')
  if (extra !== undefined) return undefined
  const version = isIP(address)
  if (version === 0) return undefined
  const max = version === 4 ? 32 : 128
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
  if (!(prefix >= 0 && prefix <= max)) return undefined
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' }
}

const purgeSchema = z.strictObject({
  /** Response fields whose space- or comma-separated values tag an entry for purge by tag. */
  tagHeaders: z.array(nonEmptyString.transform((name) => name.toLowerCase())).prefault(['surrogate-key', 'cache-tag']),
  /** Keep the tag fields in what clients receive (they are stripped by default). */
  exposeTags: z.boolean().default(false),
  /** Accept the PURGE request method on the client listeners, from `allow` only. */
  method: z.boolean().default(false),
  allow: z.array(cidrSchema).prefault([]),
}).superRefine((purge, ctx) => {
  if (purge.method && purge.allow.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['allow'], message: 'method: true needs the client addresses allowed to purge (e.g. [127.0.0.1/32])' })
  }
})

const coalesceSchema = z.strictObject({
  lock: lockSchema.default('distributed'),
  lease: positiveDuration.default(5_000),
  waitTimeout: positiveDuration.default(10_000),
  onTimeout: onTimeoutSchema.default('stale'),
  hitForMiss: durationSchema.default(30_000),
})

/** A route's own coalescing; what it leaves out comes from the top-level `coalesce`. */
const routeCoalesceSchema = z.strictObject({
  lock: lockSchema.optional(),
  lease: positiveDuration.optional(),
  waitTimeout: positiveDuration.optional(),
  onTimeout: onTimeoutSchema.optional(),
})

// ---------------------------------------------------------------- routes: match

const HOST_NAME = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i

const hostSchema = z
  .string()
  .superRefine((host, ctx) => {
    if (/:\d*$/.test(host)) {
      ctx.addIssue({ code: 'custom', message: `must not contain a port (${JSON.stringify(host)})` })
    } else if (!HOST_NAME.test(host)) {
      ctx.addIssue({ code: 'custom', message: 'expected a host name like "api.example.com" or "*.example.com"' })
    }
  })
  .transform((host) => host.toLowerCase())

const pathSchema = z.string().refine((path) => path.startsWith('/'), "must start with '/'")

/** The SyntaxError's message, or undefined when `source` compiles. */
function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

const regexSchema = z.string().superRefine((source, ctx) => {
  const problem = regexProblem(source)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

// RFC 9110 §5.6.2 token
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

const matchSchema = z
  .strictObject({
    host: z.union([hostSchema, z.array(hostSchema).min(1)], { error: expecting('expected a host name or a list of them') }).optional(),
    path: pathSchema.optional(),
    glob: pathSchema.optional(),
    regex: regexSchema.optional(),
    methods: z
      .array(z.string().regex(METHOD, 'expected an HTTP method like "GET"').transform((method) => method.toUpperCase()))
      .min(1)
      .optional(),
  })
  .superRefine((match, ctx) => {
    const given = [match.path, match.glob, match.regex].filter((value) => value !== undefined)
    if (given.length > 1) ctx.addIssue({ code: 'custom', message: 'use only one of path, glob and regex' })
  })

// ---------------------------------------------------------------- routes: cache

export type StatusKey = number | '1xx' | '2xx' | '3xx' | '4xx' | '5xx'

function parseStatusKey(key: string): StatusKey | undefined {
  const lower = key.toLowerCase()
  if (lower === '1xx' || lower === '2xx' || lower === '3xx' || lower === '4xx' || lower === '5xx') return lower
  const code = Number(key)
  return /^\d{3}$/.test(key) && code >= 100 && code <= 599 ? code : undefined
}

const statusKeySchema = z
  .string()
  .refine((key) => parseStatusKey(key) !== undefined, 'expected a status code 100..599 or a class like "5xx"')

const statusTtlSchema = z.record(statusKeySchema, durationSchema).transform((ttls) => {
  const byStatus = new Map<StatusKey, number>()
  for (const [key, ms] of Object.entries(ttls)) {
    const status = parseStatusKey(key)
    if (status !== undefined) byStatus.set(status, ms)
  }
  return byStatus
})

const JITTER_MESSAGE = 'expected a percentage like "10%" or a fraction 0..1'

/** "10%" or 0.1 → 0.1; undefined when out of 0..1. */
function parseFraction(input: unknown): number | undefined {
  let fraction: number | undefined
  if (typeof input === 'number') fraction = input
  if (typeof input === 'string') {
    const match = /^(\d+(?:\.\d+)?)\s*%$/.exec(input.trim())
    if (match) fraction = Number(match[1]) / 100
  }
  return fraction !== undefined && fraction >= 0 && fraction <= 1 ? fraction : undefined
}

const jitterSchema = z.unknown().transform((input, ctx) => {
  const fraction = parseFraction(input)
  if (fraction !== undefined) return fraction
  ctx.issues.push({ code: 'custom', message: JITTER_MESSAGE, input })
  return z.NEVER
})

const logSchema = z.strictObject({
  level: z.enum(LOG_LEVELS).default('info'),
  format: z.enum(['json', 'pretty', 'auto']).default('auto'),
  access: z.boolean().default(true),
  accessSample: jitterSchema.default(1),
})

const nameList = z.array(nonEmptyString)

const queryRecipeSchema = z.union(
  [z.enum(['all', 'none']), z.strictObject({ only: nameList }), z.strictObject({ ignore: nameList })],
  { error: expecting('expected all, none, {only: [names]} or {ignore: [names]}') },
)

const keySchema = z.strictObject({
  query: queryRecipeSchema.default('all'),
  headers: z.array(nonEmptyString.transform((name) => name.toLowerCase())).prefault([]),
  cookies: nameList.prefault([]),
})

// YAML reads `equals: 1` or `equals: true` as a number or boolean; compare as text
const equalsSchema = z.union([z.string(), z.number(), z.boolean()], { error: expecting('expected a string') }).transform(String)

const bypassRuleSchema = z
  .strictObject({
    header: nonEmptyString.transform((name) => name.toLowerCase()).optional(),
    cookie: nonEmptyString.optional(),
    query: nonEmptyString.optional(),
    equals: equalsSchema.optional(),
  })
  .superRefine((rule, ctx) => {
    const given = [rule.header, rule.cookie, rule.query].filter((value) => value !== undefined)
    if (given.length !== 1) ctx.addIssue({ code: 'custom', message: 'expected exactly one of header, cookie or query' })
  })

/** A duration sent to clients as delta-seconds: whole seconds only. */
const wholeSeconds = durationSchema.refine((ms) => ms % 1000 === 0, 'expected whole seconds, like "30s"').transform((ms) => ms / 1000)

/**
 * The Cache-Control corral sends to clients on what it serves from its cache, keyed by the
 * directive names themselves (the vocabulary of cache-control-parser, which writes the header).
 */
const clientCacheControlSchema = z
  .strictObject({
    public: z.boolean().optional(),
    private: z.boolean().optional(),
    'no-store': z.boolean().optional(),
    'no-cache': z.boolean().optional(),
    'must-revalidate': z.boolean().optional(),
    'proxy-revalidate': z.boolean().optional(),
    immutable: z.boolean().optional(),
    'no-transform': z.boolean().optional(),
    'max-age': wholeSeconds.optional(),
    's-maxage': wholeSeconds.optional(),
    'stale-while-revalidate': wholeSeconds.optional(),
    'stale-if-error': wholeSeconds.optional(),
  })
  .superRefine((cc, ctx) => {
    if (cc.public === true && cc.private === true) ctx.addIssue({ code: 'custom', message: 'public and private contradict each other' })
    if (Object.values(cc).every((value) => value === undefined || value === false)) {
      ctx.addIssue({ code: 'custom', message: 'expected at least one directive' })
    }
  })

/**
 * How long past staleness an entry may answer when the origin cannot be reached (RFC 9111 §4.2.4,
 * a "disconnected" cache): long enough to ride out a restart or a short network partition, short
 * enough that a real outage shows as errors rather than ever older answers; within the default
 * retainStale (10m). See docs/configuration.md.
 */
export const DEFAULT_STALE_IF_DISCONNECTED_MS = 300_000

export const routeCacheSchema = z.strictObject({
  ttl: durationSchema.optional(),
  statusTtl: statusTtlSchema.prefault({}),
  originCacheControl: z.enum(['honor', 'override']).default('honor'),
  staleWhileRevalidate: durationSchema.default(0),
  staleIfError: durationSchema.default(0),
  retainStale: durationSchema.default(600_000),
  /** Default: DEFAULT_STALE_IF_DISCONNECTED_MS, or retainStale when that is shorter (index.ts). */
  staleIfDisconnected: durationSchema.optional(),
  jitter: jitterSchema.default(0),
  maxObjectSize: sizeSchema.optional(),
  key: keySchema.prefault({}),
  bypass: z.array(bypassRuleSchema).prefault([]),
  heuristic: jitterSchema.default(0),
  setCookie: z.enum(['refuse', 'strip']).default('refuse'),
  targetedCacheControl: z.array(nonEmptyString.transform((name) => name.toLowerCase())).prefault(['cdn-cache-control']),
  rangeOnMiss: z.enum(['fetch', 'pass']).default('fetch'),
  clientCacheControl: clientCacheControlSchema.optional(),
  coalesce: routeCoalesceSchema.optional(),
  earlyRefresh: jitterSchema.default(0),
  forwardHeaders: z.array(nonEmptyString.transform((name) => name.toLowerCase())).prefault([]),
  stripHeaders: z.array(nonEmptyString.transform((name) => name.toLowerCase())).prefault([]),
}).superRefine((cache, ctx) => {
  // An entry is dropped retainStale after it goes stale: a longer window could never be used whole.
  if (cache.staleIfDisconnected !== undefined && cache.staleIfDisconnected > cache.retainStale) {
    ctx.addIssue({
      code: 'custom',
      path: ['staleIfDisconnected'],
      message: `must not be longer than retainStale (${formatDuration(cache.retainStale)}): stale entries are dropped then`,
    })
  }
  cache.forwardHeaders.forEach((name, i) => {
    if (!UNKEYED_OVERRIDES.includes(name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['forwardHeaders', i],
        message: `"${name}" is forwarded anyway: only the fields corral drops can be allowed (docs/configuration.md, "Fields not forwarded")`,
      })
    }
  })
  // Caches behind corral see neither the key's headers nor its cookies: telling them to share
  // a per-user or per-header copy would hand one client's answer to another.
  const cc = cache.clientCacheControl
  const perClient = cache.key.headers.length > 0 || cache.key.cookies.length > 0
  if (cc !== undefined && perClient && cc.private !== true && cc['no-store'] !== true) {
    ctx.addIssue({
      code: 'custom',
      path: ['clientCacheControl'],
      message: 'the key selects by headers or cookies that caches behind corral cannot see: add private: true (or no-store: true)',
    })
  }
})

/** `cache: false` → null (caching off); `cache: true` or no key → every default. */
const routeCacheField = z.preprocess(
  (input) => (input === true || input === undefined ? {} : input),
  z.union([z.literal(false).transform(() => null), routeCacheSchema], {
    error: 'expected true, false or a mapping',
  }),
)

export const routeSchema = z.strictObject({
  name: nonEmptyString.optional(),
  match: matchSchema.prefault({}),
  upstream: nonEmptyString.optional(),
  cache: routeCacheField,
})

// ---------------------------------------------------------------- the file

export const configFileSchema = z.strictObject({
  listeners: z.array(listenerSchema).min(1, 'expected at least one listener').prefault([{}]),
  server: serverSchema.prefault({}),
  upstreams: upstreamsSchema,
  store: storeSchema,
  coalesce: coalesceSchema.prefault({}),
  log: logSchema.prefault({}),
  admin: adminSchema.prefault({}),
  purge: purgeSchema.prefault({}),
  routes: z
    .array(routeSchema)
    .min(1, 'expected at least one route (leave the key out for a single catch-all route)')
    .optional(),
})

/** The validated file, with defaults applied, durations in ms and sizes in bytes. */
export type ConfigFile = z.output<typeof configFileSchema>
export type RouteFile = z.output<typeof routeSchema>
export type RouteCacheFile = z.output<typeof routeCacheSchema>
export type MatchFile = z.output<typeof matchSchema>
