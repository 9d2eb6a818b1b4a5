/** A RouteCache with every default of the config file, for unit tests of the policy and stages. */
import type { RouteCache } from '../../src/config/types.js'
import { UNKEYED_OVERRIDES } from '../../src/policy/unkeyed.js'

export function routeCache(over: Partial<RouteCache> = {}): RouteCache {
  return {
    defaultTtlMs: undefined,
    statusTtlMs: new Map(),
    originCacheControl: 'honor',
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    retainStaleMs: 600_000,
    staleIfDisconnectedMs: 300_000,
    jitter: 0,
    tags: { headers: ['surrogate-key', 'cache-tag'], expose: false },
    maxObjectBytes: 1 << 20,
    key: { query: { mode: 'all' }, headers: [], cookies: [] },
    bypass: [],
    heuristicFraction: 0,
    setCookie: 'refuse',
    targetedFields: ['cdn-cache-control'],
    rangeOnMiss: 'fetch',
    clientCacheControl: undefined,
    coalesce: { lock: 'distributed', leaseMs: 5_000, waitTimeoutMs: 10_000, onTimeout: 'stale' },
    earlyRefresh: 0,
    notForwarded: new Set(UNKEYED_OVERRIDES),
    ...over,
  }
}
