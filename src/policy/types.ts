/** Shapes shared by the pure RFC 9111 policy functions. Times are ms since the epoch; directive values are seconds. */

/** Header fields as node and undici give them: lowercased names, repeated fields as arrays. */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>

/** Response Cache-Control (RFC 9111 §5.2.2, RFC 5861). */
export interface ResponseDirectives {
  readonly maxAge?: number
  readonly sMaxage?: number
  readonly noStore: boolean
  /** true: unqualified; string[]: `no-cache="a, b"` names (lowercased): strip those fields, store the rest. */
  readonly noCache: boolean | readonly string[]
  /** true: unqualified; string[]: `private="a"` names (lowercased): strip those fields, store the rest. */
  readonly private: boolean | readonly string[]
  readonly public: boolean
  readonly mustRevalidate: boolean
  readonly proxyRevalidate: boolean
  readonly mustUnderstand: boolean
  readonly noTransform: boolean
  readonly immutable: boolean
  readonly staleWhileRevalidate?: number
  readonly staleIfError?: number
  /** A freshness directive appeared twice with different values, or could not be parsed: RFC 9111 §4.2.1 says treat as stale. */
  readonly conflicting: boolean
}

/** Request Cache-Control (RFC 9111 §5.2.1), with `Pragma: no-cache` folded in when Cache-Control is absent (§5.4). */
export interface RequestDirectives {
  readonly maxAge?: number
  /** Infinity when `max-stale` has no value (any staleness accepted). */
  readonly maxStale?: number
  readonly minFresh?: number
  readonly noCache: boolean
  readonly noStore: boolean
  readonly onlyIfCached: boolean
  readonly staleIfError?: number
}

/** Where a freshness lifetime came from. */
export type FreshnessSource = 'origin' | 'route' | 'heuristic'

export interface Freshness {
  readonly lifetimeMs: number
  readonly source: FreshnessSource
}

/** Stored header fields in order: lowercased names; a repeated field appears once per value. */
export type HeaderPairs = ReadonlyArray<readonly [string, string]>
