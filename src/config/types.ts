/**
 * The compiled configuration: what the gateway runs on. Produced once at start-up by
 * `loadConfig` / `compileConfig` (src/config/index.ts) from YAML or CLI flags, deeply frozen,
 * every duration in ms and every size in bytes. Nothing is parsed per request.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface Listener {
  readonly host: string
  readonly port: number
}

export interface ServerLimits {
  /** Largest request head (request line + headers) accepted; above it: 431. */
  readonly maxHeaderBytes: number
  /** Largest request body forwarded to an origin; above it: 413. */
  readonly maxBodyBytes: number
  /** Time allowed to receive a whole request from a client (node's requestTimeout). */
  readonly requestTimeoutMs: number
  /** Idle keep-alive time for client connections. */
  readonly keepAliveTimeoutMs: number
  /** On SIGTERM/SIGINT: how long in-flight requests may finish before connections are cut. */
  readonly drainTimeoutMs: number
  /** Worker processes sharing the listeners (node:cluster); 1: this process serves. */
  readonly workers: number
}

export interface Upstream {
  readonly name: string
  /** Base URL as written; its path (if any) is prepended to every forwarded path. */
  readonly url: URL
  /** `scheme://host[:port]` as undici's Pool wants it. */
  readonly origin: string
  /** Path prefix from the URL without a trailing slash ('' when none). */
  readonly basePath: string
  readonly connectTimeoutMs: number
  readonly headersTimeoutMs: number
  readonly bodyTimeoutMs: number
  /** Max connections in the undici pool. */
  readonly connections: number
}

export type QueryRecipe =
  | { readonly mode: 'all' } //                                    every parameter, sorted
  | { readonly mode: 'none' } //                                   the query is not part of the key
  | { readonly mode: 'only'; readonly names: ReadonlySet<string> } //   allow-list, sorted
  | { readonly mode: 'ignore'; readonly names: ReadonlySet<string> } // all but these, sorted

export interface KeyRecipe {
  readonly query: QueryRecipe
  /** Lowercased request header names whose values join the key. */
  readonly headers: readonly string[]
  /** Cookie names whose values join the key. */
  readonly cookies: readonly string[]
}

/** A request condition that sends the request around the cache (BYPASS). `value` undefined: presence is enough. */
export type BypassRule =
  | { readonly kind: 'header'; readonly name: string; readonly value?: string }
  | { readonly kind: 'cookie'; readonly name: string; readonly value?: string }
  | { readonly kind: 'query'; readonly name: string; readonly value?: string }

export interface TagRule {
  /** Lowercased response fields listing tags, space or comma separated. */
  readonly headers: readonly string[]
  readonly expose: boolean
}

export interface RouteCache {
  /** Freshness used only when the origin gives none (undefined: such responses are not stored). */
  readonly defaultTtlMs: number | undefined
  /**
   * Per-status freshness, like nginx's proxy_cache_valid: exact codes win over classes ('5xx').
   * 0 means "never store this status". Consulted when the origin gives no freshness, or always
   * when `originCacheControl` is 'override'.
   */
  readonly statusTtlMs: ReadonlyMap<number | '1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>
  /** 'honor': origin freshness wins; 'override': route TTLs replace it (no-store/private/Set-Cookie still refuse). */
  readonly originCacheControl: 'honor' | 'override'
  /** Default stale-while-revalidate window when the origin sends none. */
  readonly staleWhileRevalidateMs: number
  /** Default stale-if-error window when the origin sends none. */
  readonly staleIfErrorMs: number
  /** How long a stale entry is kept (for revalidation, errors and EXPIRED vs MISS), like nginx's `inactive`. */
  readonly retainStaleMs: number
  /**
   * How long past staleness an entry may still answer when the origin is unreachable, times out
   * or drops the connection (RFC 9111 §4.2.4: a disconnected cache may serve stale), unless the
   * response forbade stale serving (must-revalidate, proxy-revalidate, s-maxage, no-cache). At
   * most retainStaleMs; 0: off.
   */
  readonly staleIfDisconnectedMs: number
  /** Fraction (0..1) by which freshness is randomly shortened, so that entries stored together do not expire together. */
  readonly jitter: number
  /** Where stored entries' purge tags come from (top-level `purge`), and whether clients see those fields. */
  readonly tags: TagRule
  readonly maxObjectBytes: number
  readonly key: KeyRecipe
  readonly bypass: readonly BypassRule[]
  /**
   * Heuristic freshness (RFC 9111 §4.2.2) as a fraction of the time since Last-Modified, for
   * heuristically cacheable statuses without explicit freshness; 0 turns it off. Capped at a day.
   */
  readonly heuristicFraction: number
  /** 'refuse': responses that set cookies are not stored; 'strip': stored without Set-Cookie (the requester still gets it). */
  readonly setCookie: 'refuse' | 'strip'
  /**
   * Targeted cache-control fields (RFC 9213) in order of precedence, lowercased: the first one
   * present replaces Cache-Control and Expires for this cache. Default: ['cdn-cache-control'].
   */
  readonly targetedFields: readonly string[]
  /** A Range request on a miss: 'fetch' the whole object (then serve the range from it), or 'pass' the range to the origin. */
  readonly rangeOnMiss: 'fetch' | 'pass'
  /**
   * The Cache-Control field sent to clients in place of the origin's on responses served from or
   * stored in the cache (the origin's Expires is dropped with it); undefined: the origin's fields.
   */
  readonly clientCacheControl: string | undefined
  /** How concurrent misses for one key share a fetch. */
  readonly coalesce: CoalescePolicy
  /**
   * Request fields not forwarded on this route's cache fetches (lowercased): the built-in list of
   * fields that override routing (src/policy/unkeyed.ts) and `stripHeaders`, less `forwardHeaders`
   * and the key's own headers.
   */
  readonly notForwarded: ReadonlySet<string>
  /**
   * Fraction (0..1) of an entry's freshness lifetime at its end during which hits may refresh it
   * early, in the background, with a probability that grows as expiry nears; 0: off.
   */
  readonly earlyRefresh: number
}

export interface CoalescePolicy {
  /**
   * 'distributed': one origin fetch per key for the whole fleet (worker processes, and instances
   * sharing Redis); 'local': one per process; 'off': every request fetches for itself.
   */
  readonly lock: 'distributed' | 'local' | 'off'
  /** Fleet lock lease: renewed while the fetch runs; a holder that dies loses the lock after this long. */
  readonly leaseMs: number
  /** Longest a request waits for another request's fetch of the same key. */
  readonly waitTimeoutMs: number
  /** When the wait runs out: 'stale' (a stale copy if one may be served, else fetch), 'fetch', or 'error' (a stale copy, else 503). */
  readonly onTimeout: 'stale' | 'fetch' | 'error'
}

export interface PathMatcher {
  /** As written, for `corral check` output and logs. */
  readonly source: string
  readonly kind: 'prefix' | 'glob' | 'regex' | 'any'
  test(path: string): boolean
}

export interface RouteMatch {
  /** Lowercased host names without port; '*.example.com' matches any subdomain. Undefined: any host. */
  readonly hosts: readonly string[] | undefined
  readonly path: PathMatcher
  /** Uppercased methods. Undefined: any method. */
  readonly methods: ReadonlySet<string> | undefined
}

export interface Route {
  readonly name: string
  /** Position in `routes`, for messages such as `routes[2]`. */
  readonly index: number
  readonly match: RouteMatch
  readonly upstream: Upstream
  /** Undefined: caching is off for this route; every request is passed through (BYPASS). */
  readonly cache: RouteCache | undefined
  /** Origin fields clients never get from this route: the purge tag fields, unless `purge.exposeTags`. */
  readonly hiddenFields: readonly string[]
}

export interface MemoryStoreConfig {
  /** Byte budget of the LRU (bodies + headers). With Redis, the budget of each process's L1. */
  readonly maxBytes: number
  /** Largest object stored; routes may set a smaller limit. */
  readonly maxObjectBytes: number
}

/** Fleet mode: a shared store (L2) and lock in Redis or a Redis Cluster, with the memory store as L1. */
export interface RedisStoreConfig {
  /** One server (`redis://` or `rediss://` for TLS; user, password and database from the URL)… */
  readonly url: string | undefined
  /** …or the seed nodes of a Redis Cluster. */
  readonly cluster: readonly string[] | undefined
  /** Namespace of every key and channel; the record format version is added to it (`corral:v1:`). */
  readonly prefix: string
  /** Longest a command may take before it counts as a failure (the request goes on without Redis). */
  readonly commandTimeoutMs: number
  readonly connectTimeoutMs: number
  /** Bodies larger than this are stored deflated; 0: never. */
  readonly compressAboveBytes: number
  /**
   * Keep hot records in each process's memory (store.memory's budget) in front of Redis. Off:
   * every lookup asks Redis — always what the fleet stored last, one round trip per request.
   */
  readonly l1: boolean
  /** Consecutive failures that open the circuit breaker (Redis is skipped until a probe succeeds). */
  readonly breakerFailures: number
  /** How long the breaker stays open before it lets one probe through. */
  readonly breakerCooldownMs: number
}

export interface StoreConfig {
  readonly memory: MemoryStoreConfig
  /** Undefined: the embedded memory store alone. */
  readonly redis: RedisStoreConfig | undefined
}

export interface CoalesceConfig extends CoalescePolicy {
  /** How long a key that produced an unshareable response skips coalescing (Varnish's hit-for-miss). */
  readonly hitForMissMs: number
}

export interface LogConfig {
  readonly level: LogLevel
  /** 'pretty' for people at a terminal, 'json' for machines; 'auto' picks pretty when stdout is a TTY. */
  readonly format: 'json' | 'pretty' | 'auto'
  /** One access line per request at info level. */
  readonly access: boolean
  /** The share of requests (0..1) that get an access line; 5xx answers and aborted ones always do. */
  readonly accessSample: number
}

/** The admin listener (src/admin). */
export interface AdminConfig {
  readonly host: string
  /** 0: no admin listener. */
  readonly port: number
  /** The bearer token every endpoint but health, metrics and the status page asks for; undefined: those endpoints are refused. */
  readonly token: string | undefined
  /** Where the token came from, for messages: 'CORRAL_ADMIN_TOKEN', the file, or undefined. */
  readonly tokenSource: string | undefined
}

export interface CidrBlock {
  readonly address: string
  readonly prefix: number
  readonly family: 'ipv4' | 'ipv6'
}

export interface PurgeConfig {
  /** Lowercased response fields whose values tag an entry (space or comma separated). */
  readonly tagHeaders: readonly string[]
  /** Keep the tag fields in what clients receive. */
  readonly exposeTags: boolean
  /** The PURGE method on the client listeners. */
  readonly method: boolean
  /** Client addresses allowed to send PURGE. */
  readonly allow: readonly CidrBlock[]
}

export interface Config {
  readonly listeners: readonly Listener[]
  readonly server: ServerLimits
  readonly upstreams: ReadonlyMap<string, Upstream>
  readonly store: StoreConfig
  readonly coalesce: CoalesceConfig
  readonly log: LogConfig
  readonly admin: AdminConfig
  readonly purge: PurgeConfig
  readonly routes: readonly Route[]
  /** Where the config came from: a file path, or 'flags' for the no-config quick mode. */
  readonly source: string
}
