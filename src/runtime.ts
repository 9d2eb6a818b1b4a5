/**
 * The long-lived parts every stage uses, built once from a config by `createRuntime`: the store
 * (memory, or memory in front of Redis), the coalescer (this process, then the fleet), the
 * origin pools, the pass-through proxy and the log. The HTTP server (gateway.ts), the worker
 * processes and the tests all build the same thing here.
 */
import { Coalescer } from './coalesce/coalescer.js'
import { HitForMiss } from './coalesce/hit-for-miss.js'
import type { FleetLock } from './coalesce/types.js'
import type { Config } from './config/types.js'
import { Counters } from './counters.js'
import { Metrics } from './metrics.js'
import { createLogger, GatewayLog, jsonStdout, type Logger } from './log.js'
import { OriginClient } from './origin/client.js'
import { invalidateAfter } from './stages/invalidate.js'
import { PassProxy, type UnsafeResponseHook } from './stages/pass.js'
import { storePostResponse } from './stages/reuse-post.js'
import { RedisLock } from './coalesce/redis-lock.js'
import { RedisConnection } from './redis/client.js'
import { MemoryStore } from './store/memory.js'
import { RedisStore } from './store/redis.js'
import { TieredStore } from './store/tiered.js'
import type { CacheStore } from './store/types.js'

export interface Runtime {
  /** Replaced as a whole by a reload (src/reload.ts): read it per request, never keep it. */
  config: Config
  readonly log: GatewayLog
  readonly store: CacheStore
  readonly origins: OriginClient
  readonly coalescer: Coalescer
  readonly hitForMiss: HitForMiss
  readonly proxy: PassProxy
  readonly counters: Counters
  /** Prometheus metrics of this process (src/metrics.ts). */
  readonly metrics: Metrics
  /** Fleet mode's connection (store.redis), for health and metrics. */
  readonly redis: RedisConnection | undefined
  /** Background refreshes in progress, awaited on shutdown. */
  readonly background: Set<Promise<void>>
  /** Release everything (pools, store, fleet connections); the servers must be closed first. */
  close(): Promise<void>
}

/** Parts built elsewhere: a test's silent logger, a store to inspect, a worker's IPC fleet lock. */
export interface Adapters {
  /** Use this logger instead of one built from config.log. */
  readonly logger?: Logger
  /** Use this store instead of one built from config.store. */
  readonly store?: CacheStore
  /** The fleet half of coalescing, when this process is one of several. */
  readonly fleet?: FleetLock
}

export function createRuntime(config: Config, adapters: Adapters = {}): Runtime {
  const root = adapters.logger ?? createLogger(config.log)
  const log = new GatewayLog(root, config.log.access, adapters.logger === undefined ? jsonStdout(root) : undefined)
  log.accessSample = config.log.accessSample
  let store = adapters.store
  let fleet = adapters.fleet
  let redis: RedisConnection | undefined
  if (config.store.redis !== undefined && store === undefined) {
    // Fleet mode: memory (L1) in front of Redis (L2), and the lock in Redis.
    redis = new RedisConnection(config.store.redis, log)
    // Without L1, decoded records are kept by version only, to skip parsing bytes seen before.
    const decodedCacheBytes = config.store.redis.l1 ? 0 : Math.min(config.store.memory.maxBytes, 64 * 1024 * 1024)
    const l2 = new RedisStore(redis, config.store.redis.compressAboveBytes, decodedCacheBytes)
    let shared: TieredStore | RedisStore = l2
    if (config.store.redis.l1) {
      const tiered = new TieredStore(new MemoryStore(config.store.memory), l2, redis, log)
      tiered.start()
      shared = tiered
    }
    store = shared
    fleet ??= new RedisLock(redis, shared, config.coalesce.hitForMissMs, log)
  }
  store ??= new MemoryStore(config.store.memory)
  // The pass stage invalidates, and stores reusable POST responses, through the runtime it is part of.
  const onUnsafeResponse: UnsafeResponseHook = (ctx, response) => {
    invalidateAfter(rt, ctx, response.statusCode ?? 0, response.headers)
    storePostResponse(rt, ctx, response)
  }
  const origins = new OriginClient(config.upstreams.values())
  // Read at scrape time from the runtime (its config, store, coalescer, counters).
  const metrics = new Metrics({ runtime: () => rt, fleet: redis !== undefined })
  const proxy = new PassProxy(config.server, log, onUnsafeResponse, metrics)
  const rt: Runtime = {
    config,
    log,
    store,
    origins,
    coalescer: new Coalescer(fleet),
    hitForMiss: new HitForMiss(config.coalesce.hitForMissMs),
    proxy,
    counters: new Counters(),
    metrics,
    redis,
    background: new Set(),
    close: async () => {
      proxy.close()
      await origins.close()
      await fleet?.close()
      await store.close()
      await redis?.close()
    },
  }
  return rt
}
