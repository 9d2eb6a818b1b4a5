/**
 * Prometheus metrics (prom-client), read from the runtime at scrape time.
 *
 * The hit path stays free of label hashing: requests are counted in plain typed arrays (one per
 * route, indexed by cache status and status class) and turned into samples by `collect()` when
 * /metrics is read. What happens off the hit path (origin requests, purges, reloads) goes to
 * prom-client directly. Store, coalescing, Redis and route gauges are read from the runtime at
 * scrape time, so a config replaced by a reload shows at the next scrape.
 *
 * Each Metrics has a Registry of its own (several runtimes may live in one test process), with the
 * process's default metrics registered in it too. With `--workers`, each worker's registry answers
 * prom-client's cluster requests and the primary serves the sum (`clusterMetrics`); see the
 * aggregators below for what is not summed.
 */
import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import { Cluster } from 'ioredis'
import * as promClient from 'prom-client'
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Aggregator } from 'prom-client'
import type { RequestContext } from './context.js'
import { staleDetail } from './counters.js'
import type { RedisConnection } from './redis/client.js'
import type { Runtime } from './runtime.js'
import { MemoryStore } from './store/memory.js'
import { RedisStore } from './store/redis.js'
import { ReplicatedStore } from './store/replicated.js'
import { TieredStore } from './store/tiered.js'

/** Label values of `cache_status`, in the order of the per-route count arrays. */
const CACHE_STATUSES = ['HIT', 'MISS', 'EXPIRED', 'STALE', 'UPDATING', 'REVALIDATED', 'BYPASS', 'NONE'] as const
const NONE = 7
/** Label values of `code`: the status class. */
const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const
const CLASSES = CODE_CLASSES.length
/** corral_origin_requests_total's `code` label: the status classes, then no response at all. */
const ORIGIN_CODES = [...CODE_CLASSES, 'error'] as const
const ORIGIN_ERROR = CLASSES

/** What an upstream's origin requests update: their counts, and the response-time histogram's child. */
interface OriginSeries {
  readonly counts: Float64Array
  readonly duration: { observe(value: number): void }
}
/** A route's counts: [cache status × status class]. Float64: an Int32 would wrap after 2^31 requests. */
const SLOTS = CACHE_STATUSES.length * CLASSES

/** Time to the origin's response head: APIs answer in milliseconds to seconds. */
const ORIGIN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export type PurgeKind = 'url' | 'prefix' | 'tag' | 'all'
export type OriginErrorKind = 'timeout' | 'unreachable' | 'reset' | 'other'
type Tier = 'memory' | 'l1' | 'l2'

const BREAKER_STATES = { closed: 0, 'half-open': 1, open: 2 } as const

// --- Aggregation over workers --------------------------------------------------------------------

/**
 * Summed over workers, except the `l2` tier: it is the one Redis every worker reads, so its
 * numbers are the same in each and are taken once (the largest). prom-client looks aggregators up
 * by name in its exported table, the documented way to add one.
 */
const TIER_AGGREGATOR = 'corral_tier' as string as Aggregator

interface JsonMetric {
  name: string
  help: string
  type: string
  aggregator: string
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>
}

function aggregateByTier(metrics: JsonMetric[]): JsonMetric | undefined {
  const first = metrics[0]
  if (first === undefined) return undefined
  const byLabels = new Map<string, { value: number; labels: Record<string, string | number>; metricName?: string }>()
  for (const metric of metrics) {
    for (const value of metric.values) {
      const key = `${value.metricName ?? ''}|${JSON.stringify(Object.entries(value.labels).sort())}`
      const seen = byLabels.get(key)
      if (seen === undefined) byLabels.set(key, { ...value })
      else seen.value = value.labels.tier === 'l2' ? Math.max(seen.value, value.value) : seen.value + value.value
    }
  }
  return { help: first.help, name: first.name, type: first.type, aggregator: first.aggregator, values: [...byLabels.values()] }
}

;(promClient as unknown as { aggregators: Record<string, (metrics: JsonMetric[]) => JsonMetric | undefined> }).aggregators[TIER_AGGREGATOR] =
  aggregateByTier

let primaryAggregator: AggregatorRegistry<'text/plain; version=0.0.4; charset=utf-8'> | undefined
let primaryOwn: Registry | undefined
let workerListening = false

/**
 * The primary's /metrics with `--workers`: every worker's metrics, asked over the cluster IPC
 * channel by prom-client (messages of `type` prom-client:getMetricsReq/Res, which corral's own
 * channel ignores) and aggregated: counters and histograms summed, gauges as each says. Then the
 * primary's own process metrics, apart (`corral_primary_`): it relays fills, locks and admin
 * calls, and its CPU and memory are the fleet's too, but summed into the workers' they would
 * hide which process uses what.
 */
export async function clusterMetrics(): Promise<{ contentType: string; text: string }> {
  primaryAggregator ??= new AggregatorRegistry()
  if (primaryOwn === undefined) {
    primaryOwn = new Registry()
    collectDefaultMetrics({ register: primaryOwn, prefix: 'corral_primary_' })
  }
  const [workers, own] = await Promise.all([primaryAggregator.clusterMetrics(), primaryOwn.metrics()])
  return { contentType: primaryAggregator.contentType, text: `${workers.endsWith('\n') ? workers : `${workers}\n`}${own}` }
}

// --- Metrics -------------------------------------------------------------------------------------

let processRegistry: Registry | undefined

/**
 * prom-client's default metrics (CPU, memory, GC, event-loop lag), once per process: they describe
 * the process, not a runtime, and each set starts an event-loop monitor and a GC observer that are
 * never stopped. Every Metrics registers the same metric objects in its own registry.
 */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry, prefix: 'corral_' })
  }
  return processRegistry
}

export interface MetricsOptions {
  /** The runtime whose state is read at scrape time (store, coalescer, counters, config, Redis). */
  readonly runtime?: () => Runtime
  /** Fleet mode: the Redis metrics are exposed. */
  readonly fleet?: boolean
}

interface TierStats {
  entries: number
  bytes: number
  maxBytes?: number
  evictions?: number
}

type StoreSnapshot = Partial<Record<Tier, TierStats>>

export class Metrics {
  readonly registry = new Registry()
  /** Per route name: counts by cache status and status class. */
  private readonly routes = new Map<string, Float64Array>()
  /** Requests that matched no route, or were refused before routing. */
  private readonly unrouted = new Float64Array(SLOTS)
  private readonly staleServed = new Map<string, number>()
  /** Per upstream: origin requests by status class, then `error` (ORIGIN_CODES), published at scrape time. */
  private readonly originCounts = new Map<string, Float64Array>()
  private readonly origins = new Map<string, OriginSeries>()
  private readonly originRequests: Counter<'upstream' | 'code'>
  private readonly originErrors: Counter<'upstream' | 'kind'>
  private readonly originDuration: Histogram<'upstream'>
  private readonly purges: Counter<'kind' | 'soft'>
  private readonly purgedEntries: Counter<'kind'>
  private readonly reloads: Counter<'result'>
  private readonly runtime: (() => Runtime) | undefined
  /** One store read per scrape, shared by the store gauges. */
  private storeRead: Promise<StoreSnapshot> | undefined

  constructor(options: MetricsOptions = {}) {
    this.runtime = options.runtime
    const registers = [this.registry]
    // getMetricsAsArray() is typed as plain objects: they are the metric objects themselves.
    for (const metric of processMetrics().getMetricsAsArray()) this.registry.registerMetric(metric as unknown as promClient.Metric)
    // prom-client calls collect() with the metric as `this`: what it reads of this object, by closure.
    const runtime = (): Runtime | undefined => this.runtime?.()
    const eachRoute = (visit: (route: string, counts: Float64Array) => void): void => this.eachRoute(visit)
    const staleServed = this.staleServed
    const storeSnapshot = (): Promise<StoreSnapshot> => this.storeSnapshot()

    new Counter({
      name: 'corral_requests_total',
      help: 'Client requests by route and X-Cache-Status (NONE: the request never reached the cache).',
      labelNames: ['route', 'cache_status'],
      registers,
      collect() {
        this.reset()
        eachRoute((route, counts) => {
          for (let s = 0; s < CACHE_STATUSES.length; s++) {
            let n = 0
            for (let c = 0; c < CLASSES; c++) n += counts[s * CLASSES + c] as number
            if (n > 0) this.inc({ route, cache_status: CACHE_STATUSES[s] }, n)
          }
        })
      },
    })
    new Counter({
      name: 'corral_responses_total',
      help: 'Responses to clients by route and status class.',
      labelNames: ['route', 'code'],
      registers,
      collect() {
        this.reset()
        eachRoute((route, counts) => {
          for (let c = 0; c < CLASSES; c++) {
            let n = 0
            for (let s = 0; s < CACHE_STATUSES.length; s++) n += counts[s * CLASSES + c] as number
            if (n > 0) this.inc({ route, code: CODE_CLASSES[c] }, n)
          }
        })
      },
    })
    new Counter({
      name: 'corral_stale_served_total',
      help: 'Responses served from a stale entry, by why it was allowed (the Cache-Status detail).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset()
        for (const [reason, n] of staleServed) this.inc({ reason }, n)
      },
    })

    const originCounts = this.originCounts
    this.originRequests = new Counter({
      name: 'corral_origin_requests_total',
      help: 'Requests to origins (cache fills, revalidations, background refreshes, pass-through) by upstream and status class; code="error" when no response came.',
      labelNames: ['upstream', 'code'],
      registers,
      collect() {
        this.reset()
        for (const [upstream, counts] of originCounts) {
          for (let c = 0; c < ORIGIN_CODES.length; c++) {
            const n = counts[c] as number
            if (n > 0) this.inc({ upstream, code: ORIGIN_CODES[c] }, n)
          }
        }
      },
    })
    this.originErrors = new Counter({
      name: 'corral_origin_errors_total',
      help: 'Origin requests that failed, before or during the response, by upstream and kind.',
      labelNames: ['upstream', 'kind'],
      registers,
    })
    this.originDuration = new Histogram({
      name: 'corral_origin_duration_seconds',
      help: "Time from sending a request to an origin to its response head, by upstream.",
      labelNames: ['upstream'],
      buckets: ORIGIN_BUCKETS,
      registers,
    })

    const counter = (name: string, help: string, read: (rt: Runtime) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          const rt = runtime()
          this.reset()
          if (rt !== undefined) this.inc(read(rt))
        },
      })
    }
    counter('corral_coalesced_requests_total', 'Requests that waited for another request’s origin fetch instead of making their own.', (rt) => rt.counters.coalesced)
    counter('corral_lock_fallbacks_total', 'Fetches made without the fleet lock (the fleet was unreachable, or the wait ran out).', (rt) => rt.counters.lockFallbacks)
    counter('corral_lock_takeovers_total', 'Fleet locks taken over after their holder’s lease ran out.', (rt) => rt.counters.lockTakeovers)
    counter('corral_lock_timeouts_total', 'Waits for another request’s fetch that ran out (the route’s onTimeout answered).', (rt) => rt.counters.lockTimeouts)
    counter('corral_early_refreshes_total', 'Background refreshes started before expiry (earlyRefresh).', (rt) => rt.counters.earlyRefreshes)

    const gauge = (name: string, help: string, read: (rt: Runtime) => number, aggregator: Aggregator = 'sum'): void => {
      new Gauge({
        name,
        help,
        aggregator,
        registers,
        collect() {
          const rt = runtime()
          this.set(rt === undefined ? 0 : read(rt))
        },
      })
    }
    gauge('corral_inflight_fills', 'Origin fetches under way that other requests may wait for (flights led in this process).', (rt) => rt.coalescer.stats().flights)
    gauge('corral_lock_waiters', 'Requests waiting for another request’s fetch, in this process or elsewhere in the fleet.', (rt) => {
      const stats = rt.coalescer.stats()
      return stats.waiting + stats.waitingOnFleet
    })

    const storeGauge = (name: string, help: string, pick: (tier: TierStats) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['tier'],
        aggregator: TIER_AGGREGATOR,
        registers,
        async collect() {
          const snapshot = await storeSnapshot()
          this.reset()
          for (const [tier, stats] of Object.entries(snapshot)) {
            const value = pick(stats)
            if (value !== undefined) this.set({ tier }, value)
          }
        },
      })
    }
    storeGauge('corral_store_entries', 'Records held, by store tier (memory; or l1 in each process and l2 in Redis).', (t) => t.entries)
    storeGauge('corral_store_bytes', 'Bytes held, by store tier (memory and l1: what records cost this process; l2: Redis used_memory).', (t) => t.bytes)
    storeGauge('corral_store_max_bytes', 'The budget of each tier (memory and l1: store.memory.maxBytes; l2: Redis maxmemory, absent when unlimited).', (t) => t.maxBytes)
    new Counter({
      name: 'corral_store_evictions_total',
      help: 'Records evicted to make room, by store tier (l2: Redis evicted_keys).',
      labelNames: ['tier'],
      aggregator: TIER_AGGREGATOR,
      registers,
      async collect() {
        const snapshot = await storeSnapshot()
        this.reset()
        for (const [tier, stats] of Object.entries(snapshot)) {
          if (stats.evictions !== undefined) this.inc({ tier }, stats.evictions)
        }
      },
    })

    gauge('corral_fleet_mode', '1 when instances share a Redis store (fleet mode), else 0.', (rt) => (rt.redis === undefined ? 0 : 1), 'max')
    if (options.fleet === true) {
      const redis = (rt: Runtime): RedisConnection | undefined => rt.redis
      gauge('corral_redis_up', '1 when Redis is reachable and its circuit breaker lets calls through, else 0.', (rt) => (redis(rt)?.available === true ? 1 : 0), 'min')
      gauge(
        'corral_redis_breaker_state',
        'The Redis circuit breaker: 0 closed, 1 half-open, 2 open.',
        (rt) => BREAKER_STATES[redis(rt)?.breakerState ?? 'closed'],
        'max',
      )
      counter('corral_redis_errors_total', 'Redis calls that failed (errors and timeouts).', (rt) => redis(rt)?.stats.errors ?? 0)
      counter('corral_redis_timeouts_total', 'Redis calls that timed out.', (rt) => redis(rt)?.stats.timeouts ?? 0)
      counter('corral_redis_skipped_total', 'Redis calls not made because Redis was unreachable or the breaker open.', (rt) => redis(rt)?.stats.skipped ?? 0)
      counter('corral_redis_breaker_opens_total', 'Times the Redis circuit breaker opened.', (rt) => redis(rt)?.stats.breakerOpens ?? 0)
    }

    this.purges = new Counter({
      name: 'corral_purges_total',
      help: 'Purge requests by kind (url, prefix, tag, all) and whether soft (marked stale) or hard.',
      labelNames: ['kind', 'soft'],
      registers,
    })
    this.purgedEntries = new Counter({
      name: 'corral_purged_entries_total',
      help: 'Entries removed or marked stale by purges, by kind.',
      labelNames: ['kind'],
      registers,
    })
    this.reloads = new Counter({
      name: 'corral_reloads_total',
      help: 'Configuration reloads: ok, or refused (the file was invalid and the running config stayed).',
      labelNames: ['result'],
      registers,
    })

    new Gauge({
      name: 'corral_route_info',
      help: 'One series per configured route: its upstream, and whether it caches.',
      labelNames: ['route', 'upstream', 'cached'],
      aggregator: 'max',
      registers,
      collect() {
        this.reset()
        const rt = runtime()
        if (rt === undefined) return
        for (const route of rt.config.routes) {
          this.set({ route: route.name, upstream: route.upstream.name, cached: route.cache === undefined ? 'false' : 'true' }, 1)
        }
      },
    })
    new Gauge({
      name: 'corral_build_info',
      help: 'The running corral version (always 1).',
      labelNames: ['version'],
      aggregator: 'first',
      registers,
    }).set({ version: VERSION }, 1)

    if (cluster.isWorker) {
      // The primary serves /metrics for all workers: answer its requests from this registry.
      if (!workerListening) {
        workerListening = true
        new AggregatorRegistry()
      }
      AggregatorRegistry.setRegistries([this.registry])
    }
  }

  /** The Prometheus text exposition of this process's metrics. */
  render(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /**
   * A finished client request (the gateway's access-line point): the hit path. Plain array
   * increments, no labels; published at scrape time.
   */
  request(ctx: RequestContext): void {
    const res = ctx.res
    // A client that left before its answer counts as 4xx (nginx's 499).
    const cls = res.headersSent ? classOf(res.statusCode) : 3
    const route = ctx.route
    if (route === undefined) {
      ;(this.unrouted[NONE * CLASSES + cls] as number)++
      return
    }
    let counts = this.routes.get(route.name)
    if (counts === undefined) {
      counts = new Float64Array(SLOTS)
      this.routes.set(route.name, counts)
    }
    const status = ctx.cacheStatus
    let s: number
    switch (status) {
      case 'HIT':
        s = 0
        break
      case 'MISS':
        s = 1
        break
      case 'EXPIRED':
        s = 2
        break
      case 'STALE':
        s = 3
        break
      case 'UPDATING':
        s = 4
        break
      case 'REVALIDATED':
        s = 5
        break
      case 'BYPASS':
        s = 6
        break
      default:
        s = NONE
    }
    ;(counts[s * CLASSES + cls] as number)++
    if (s === 3 || s === 4) {
      const reason = staleDetail(ctx)
      this.staleServed.set(reason, (this.staleServed.get(reason) ?? 0) + 1)
    }
  }

  /** A request refused before it had a context or a route (malformed or too slow: 400, 408, 431). */
  rejected(status: number): void {
    ;(this.unrouted[NONE * CLASSES + classOf(status)] as number)++
  }

  /**
   * An origin's response head arrived, `startedAt` (performance.now()) after the request was sent.
   * Once per origin request: a plain array increment (published at scrape time) and one histogram
   * observation through the upstream's own child, without building and hashing labels each time.
   */
  originResponded(upstream: string, status: number, startedAt: number): void {
    const origin = this.originOf(upstream)
    ;(origin.counts[classOf(status)] as number)++
    origin.duration.observe((performance.now() - startedAt) / 1000)
  }

  /** An origin request failed: before its response head (`afterHead` false), or while its body came. */
  originFailed(upstream: string, err: unknown, afterHead = false): void {
    if (!afterHead) (this.originOf(upstream).counts[ORIGIN_ERROR] as number)++
    this.originErrors.inc({ upstream, kind: originErrorKind(err) })
  }

  private originOf(upstream: string): OriginSeries {
    let origin = this.origins.get(upstream)
    if (origin === undefined) {
      const counts = new Float64Array(ORIGIN_CODES.length)
      this.originCounts.set(upstream, counts)
      origin = { counts, duration: this.originDuration.labels({ upstream }) }
      this.origins.set(upstream, origin)
    }
    return origin
  }

  /** A purge was carried out; `entries`: how many it removed or marked stale. */
  purged(kind: PurgeKind, soft: boolean, entries: number): void {
    this.purges.inc({ kind, soft: soft ? 'true' : 'false' })
    if (entries > 0) this.purgedEntries.inc({ kind }, entries)
  }

  /** A configuration reload: applied, or refused. */
  reloaded(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'ok' : 'refused' })
  }

  private eachRoute(visit: (route: string, counts: Float64Array) => void): void {
    for (const [route, counts] of this.routes) visit(route, counts)
    visit('none', this.unrouted)
  }

  private storeSnapshot(): Promise<StoreSnapshot> {
    if (this.storeRead === undefined) {
      const read = this.readStore()
      this.storeRead = read
      // Every store gauge of this scrape has asked by now (prom-client starts them together).
      void read.finally(() => {
        if (this.storeRead === read) this.storeRead = undefined
      })
    }
    return this.storeRead
  }

  private async readStore(): Promise<StoreSnapshot> {
    const rt = this.runtime?.()
    if (rt === undefined) return {}
    const store = rt.store
    const snapshot: StoreSnapshot = {}
    const local = (memory: MemoryStore): TierStats => ({ ...memory.statsSync(), evictions: memory.evictions })
    if (store instanceof MemoryStore) snapshot.memory = local(store)
    else if (store instanceof ReplicatedStore) snapshot.memory = local(store.local)
    else if (store instanceof TieredStore) snapshot.l1 = local(store.l1)
    else if (!(store instanceof RedisStore)) {
      const stats = await store.stats().catch(() => undefined)
      if (stats !== undefined) snapshot.memory = { entries: stats.entries, bytes: stats.bytes, maxBytes: rt.config.store.memory.maxBytes }
    }
    const redis = rt.redis
    // Redis is only asked when it is there: a scrape must not count as failures nor trip the breaker.
    if ((store instanceof TieredStore || store instanceof RedisStore) && redis?.available === true) {
      try {
        const [stats, server] = await Promise.all([store.stats(), redisServerStats(redis)])
        const l2 = store instanceof TieredStore ? stats.tiers?.l2 : stats
        if (l2 !== undefined) snapshot.l2 = { entries: l2.entries, bytes: l2.bytes, maxBytes: server.maxBytes, evictions: server.evictions }
      } catch {
        // Redis went away during the scrape: no l2 figures this time.
      }
    }
    return snapshot
  }
}

function classOf(status: number): number {
  const cls = Math.floor(status / 100) - 1
  return cls < 0 ? 0 : cls >= CLASSES ? CLASSES - 1 : cls
}

const TIMEOUT_CODES = new Set(['CORRAL_ERR_ORIGIN_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ESOCKETTIMEDOUT'])
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL'])
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ERR_STREAM_PREMATURE_CLOSE'])

/** timeout | unreachable | reset | other, from the error's code or those of its causes. */
export function originErrorKind(err: unknown): OriginErrorKind {
  let kind: OriginErrorKind = 'other'
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code !== 'string') continue
    if (TIMEOUT_CODES.has(code)) return 'timeout'
    if (UNREACHABLE_CODES.has(code)) return 'unreachable'
    if (RESET_CODES.has(code)) kind = 'reset'
  }
  return kind
}

/** Redis's own maxmemory (summed over a cluster's masters; undefined when any is unlimited) and evicted keys. */
async function redisServerStats(redis: RedisConnection): Promise<{ maxBytes: number | undefined; evictions: number }> {
  const client = redis.client
  const nodes = client instanceof Cluster ? client.nodes('master') : [client]
  let maxBytes: number | undefined = 0
  let evictions = 0
  for (const node of nodes) {
    const info = await redis.run(() => node.info())
    const max = Number(/^maxmemory:(\d+)/m.exec(info)?.[1] ?? 0)
    maxBytes = max === 0 || maxBytes === undefined ? undefined : maxBytes + max
    evictions += Number(/^evicted_keys:(\d+)/m.exec(info)?.[1] ?? 0)
  }
  return { maxBytes, evictions }
}

const VERSION = ((): string => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
})()
