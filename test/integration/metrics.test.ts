/**
 * Prometheus metrics: a real gateway in front of a real origin, requests that hit, miss, bypass
 * and fail, and the exposition read back with a Prometheus text-format parser
 * (parse-prometheus-text-format, see parseExposition) to check that the numbers move by exactly
 * what was done, that labels stay bounded (never a URL), and that names follow Prometheus
 * conventions. The Grafana dashboard's queries are parsed with Prometheus's own PromQL grammar
 * (@prometheus-io/lezer-promql) and every metric they read must be one /metrics exposes.
 */
import { readFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { parser as promql } from '@prometheus-io/lezer-promql'
import { AggregatorRegistry } from 'prom-client'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Gateway } from '../../src/gateway.js'
import { Metrics } from '../../src/metrics.js'
import { MemoryStore } from '../../src/store/memory.js'
import { isToPrimary, isToWorker } from '../../src/workers/messages.js'
import { startCorral } from '../helpers/corral-process.js'
import { client, later, startTestGateway, testConfig, useGateway } from '../helpers/gateway.js'
import { Origin } from '../helpers/origin.js'
import { parseExposition, type Exposition } from '../helpers/prometheus.js'
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis.js'
import { freePort, rawExchange } from '../helpers/sockets.js'

// ---------------------------------------------------------------------------------------------
// The exposition, parsed
// ---------------------------------------------------------------------------------------------

async function scrape(gateway: Gateway): Promise<Exposition> {
  return parseExposition(await gateway.runtime.metrics.render())
}

/** What moved between two scrapes, for one series. */
function delta(before: Exposition, after: Exposition, name: string, labels: Record<string, string> = {}): number {
  return after.value(name, labels) - before.value(name, labels)
}

// ---------------------------------------------------------------------------------------------
// One gateway, an origin, and an upstream nobody listens on
// ---------------------------------------------------------------------------------------------

let downPort = 0
beforeAll(async () => {
  downPort = await freePort()
})

const bed = useGateway((origin) => ({
  upstreams: {
    default: { url: origin },
    down: { url: `http://127.0.0.1:${downPort}`, connectTimeout: '1s' },
  },
  routes: [
    { name: 'api', match: { path: '/api/' }, upstream: 'default', cache: { staleIfError: '0s' } },
    { name: 'swr', match: { path: '/swr/' }, upstream: 'default', cache: { staleWhileRevalidate: '60s' } },
    { name: 'pass', match: { path: '/pass/' }, upstream: 'default', cache: false },
    { name: 'down', match: { path: '/down/' }, upstream: 'down', cache: { staleIfDisconnected: '0s' } },
  ],
}))

describe('metrics: requests, responses and origins', () => {
  it('counts MISS, HIT, BYPASS, an origin failure, no route and a malformed request by exactly what was done', async () => {
    const { origin, gateway, get } = bed
    origin.on('/api/item', { headers: { 'cache-control': 'max-age=60' }, body: 'item' })
    const before = await scrape(gateway)

    expect((await get('/api/item?color=red')).cacheStatus).toBe('MISS')
    expect((await get('/api/item?color=red')).cacheStatus).toBe('HIT')
    expect((await get('/api/item?color=red')).cacheStatus).toBe('HIT')
    expect((await get('/pass/thing')).cacheStatus).toBe('BYPASS')
    const failed = await get('/down/x')
    expect(failed.status).toBe(502)
    expect((await get('/nowhere')).status).toBe(404)
    expect(await rawExchange(gateway.urls[0]!, 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1.1 400/)

    const after = await scrape(gateway)
    const requests = (route: string, cacheStatus: string): number => delta(before, after, 'corral_requests_total', { route, cache_status: cacheStatus })
    const responses = (route: string, code: string): number => delta(before, after, 'corral_responses_total', { route, code })
    expect(requests('api', 'MISS')).toBe(1)
    expect(requests('api', 'HIT')).toBe(2)
    expect(requests('pass', 'BYPASS')).toBe(1)
    expect(requests('down', 'MISS')).toBe(1)
    // No route (404) and a malformed request (400) never reached the cache.
    expect(requests('none', 'NONE')).toBe(2)
    expect(responses('api', '2xx')).toBe(3)
    expect(responses('pass', '2xx')).toBe(1)
    expect(responses('down', '5xx')).toBe(1)
    expect(responses('none', '4xx')).toBe(2)
    // Nothing else moved: the totals are the sums of the above.
    const total = (e: Exposition, name: string): number => e.series(name).reduce((n, s) => n + s.value, 0)
    expect(total(after, 'corral_requests_total') - total(before, 'corral_requests_total')).toBe(7)
    expect(total(after, 'corral_responses_total') - total(before, 'corral_responses_total')).toBe(7)

    // The origin was asked twice (the MISS and the BYPASS); the dead upstream once, without an answer.
    expect(delta(before, after, 'corral_origin_requests_total', { upstream: 'default', code: '2xx' })).toBe(2)
    expect(delta(before, after, 'corral_origin_requests_total', { upstream: 'down', code: 'error' })).toBe(1)
    expect(delta(before, after, 'corral_origin_errors_total', { upstream: 'down', kind: 'unreachable' })).toBe(1)
    expect(delta(before, after, 'corral_origin_errors_total', { upstream: 'default', kind: 'unreachable' })).toBe(0)
    // Latency: one observation per response head, in the buckets; a loopback origin answers within 5 ms… or 1 s at worst.
    expect(delta(before, after, 'corral_origin_duration_seconds_count', { upstream: 'default' })).toBe(2)
    expect(delta(before, after, 'corral_origin_duration_seconds_bucket', { upstream: 'default', le: '+Inf' })).toBe(2)
    expect(delta(before, after, 'corral_origin_duration_seconds_bucket', { upstream: 'default', le: '1' })).toBe(2)
    expect(delta(before, after, 'corral_origin_duration_seconds_count', { upstream: 'down' })).toBe(0)
    expect(after.value('corral_origin_duration_seconds_sum', { upstream: 'default' })).toBeGreaterThan(0)
  })

  it('an origin that answers 5xx counts under its class; one that hangs up counts as a reset', async () => {
    const { origin, gateway, get } = bed
    origin.on('/api/broken', { status: 503, body: 'down for maintenance' })
    origin.on('/api/hangup', { hangUp: true })
    origin.on('/pass/hangup', { hangUp: true })
    const before = await scrape(gateway)
    expect((await get('/api/broken')).status).toBe(503)
    expect((await get('/api/hangup')).status).toBe(502)
    expect((await get('/pass/hangup')).status).toBe(502)
    const after = await scrape(gateway)
    expect(delta(before, after, 'corral_origin_requests_total', { upstream: 'default', code: '5xx' })).toBe(1)
    expect(delta(before, after, 'corral_origin_requests_total', { upstream: 'default', code: 'error' })).toBe(2)
    expect(delta(before, after, 'corral_origin_errors_total', { upstream: 'default', kind: 'reset' })).toBe(2)
    expect(delta(before, after, 'corral_responses_total', { route: 'api', code: '5xx' })).toBe(2)
    expect(delta(before, after, 'corral_responses_total', { route: 'pass', code: '5xx' })).toBe(1)
  })

  it('no label carries a URL, a path or a query: routes, upstreams and fixed vocabularies only', async () => {
    const { gateway, get } = bed
    await get('/api/a-very-specific-path?user=12345&token=secret')
    await get('/nowhere/else?x=1')
    const text = await gateway.runtime.metrics.render()
    const exposition = parseExposition(text)
    const routes = new Set([...gateway.runtime.config.routes.map((r) => r.name), 'none'])
    const upstreams = new Set(gateway.runtime.config.upstreams.keys())
    const allowed: Record<string, (v: string) => boolean> = {
      route: (v) => routes.has(v),
      upstream: (v) => upstreams.has(v),
      cache_status: (v) => ['HIT', 'MISS', 'EXPIRED', 'STALE', 'UPDATING', 'REVALIDATED', 'BYPASS', 'NONE'].includes(v),
      code: (v) => /^[1-5]xx$/.test(v) || v === 'error',
      kind: (v) => ['timeout', 'unreachable', 'reset', 'other', 'url', 'prefix', 'tag', 'all'].includes(v),
      tier: (v) => ['memory', 'l1', 'l2'].includes(v),
      cached: (v) => v === 'true' || v === 'false',
      soft: (v) => v === 'true' || v === 'false',
      result: (v) => v === 'ok' || v === 'refused',
      reason: (v) => /^[a-z-]+$/.test(v),
      le: (v) => v === '+Inf' || Number.isFinite(Number(v)),
      version: (v) => /^\d+\.\d+\.\d+/.test(v),
    }
    for (const sample of exposition.samples.filter((s) => !isProcessMetric(s.name))) {
      for (const [label, value] of Object.entries(sample.labels)) {
        expect(allowed[label], `${sample.name}: unexpected label ${label}`).toBeDefined()
        expect(allowed[label]!(value), `${sample.name}{${label}="${value}"}`).toBe(true)
      }
    }
    expect(text).not.toContain('a-very-specific-path')
    expect(text).not.toContain('12345')
    expect(text).not.toContain('/nowhere')
  })
})

describe('metrics: stale answers, coalescing, store', () => {
  it('stale answers are counted by the reason they were allowed', async () => {
    const { origin, gateway, get } = bed
    vi.useFakeTimers({ toFake: ['Date'] })
    origin.on('/swr/a', { headers: { 'cache-control': 'max-age=1' }, body: 'a' })
    origin.on('/api/sie', (_r, n) =>
      n === 1 ? { headers: { 'cache-control': 'max-age=1, stale-if-error=60' }, body: 'ok' } : { status: 500, body: 'broken' },
    )
    await get('/swr/a')
    await get('/api/sie')
    const before = await scrape(gateway)
    later(2_000)
    expect((await get('/swr/a')).cacheStatus).toBe('STALE')
    expect((await get('/api/sie')).cacheStatus).toBe('STALE')
    // A client that accepts stale content gets the copy stale-if-error kept.
    expect((await get('/api/sie', { headers: { 'cache-control': 'max-stale=60' } })).cacheStatus).toBe('STALE')
    const after = await scrape(gateway)
    expect(delta(before, after, 'corral_stale_served_total', { reason: 'stale-while-revalidate' })).toBe(1)
    expect(delta(before, after, 'corral_stale_served_total', { reason: 'stale-if-error' })).toBe(1)
    expect(delta(before, after, 'corral_stale_served_total', { reason: 'max-stale' })).toBe(1)
    expect(delta(before, after, 'corral_requests_total', { route: 'swr', cache_status: 'STALE' })).toBe(1)
    expect(delta(before, after, 'corral_requests_total', { route: 'api', cache_status: 'STALE' })).toBe(2)
    // The background refresh of /swr/a went to the origin too.
    await vi.waitFor(async () => expect(delta(before, await scrape(gateway), 'corral_origin_requests_total', { upstream: 'default', code: '2xx' })).toBe(1))
  })

  it('a crowd on a cold key: one fill in flight, its waiters, then the coalesced count', async () => {
    const { origin, gateway, get } = bed
    origin.on('/api/cold', { headers: { 'cache-control': 'max-age=60' }, body: 'cold' })
    const before = await scrape(gateway)
    const open = origin.closeGate()
    const crowd = Promise.all(Array.from({ length: 5 }, () => get('/api/cold')))
    await vi.waitFor(() => expect(origin.held).toBe(1))
    await vi.waitFor(() => expect(gateway.runtime.coalescer.stats().waiting).toBe(4))
    const during = await scrape(gateway)
    expect(during.value('corral_inflight_fills')).toBe(1)
    expect(during.value('corral_lock_waiters')).toBe(4)
    open()
    await crowd
    const after = await scrape(gateway)
    expect(after.value('corral_inflight_fills')).toBe(0)
    expect(after.value('corral_lock_waiters')).toBe(0)
    expect(delta(before, after, 'corral_coalesced_requests_total')).toBe(4)
    expect(delta(before, after, 'corral_origin_requests_total', { upstream: 'default', code: '2xx' })).toBe(1)
    expect(delta(before, after, 'corral_requests_total', { route: 'api', cache_status: 'MISS' })).toBe(5)
  })

  it('store entries and bytes follow what is stored; the budget is the configured one', async () => {
    const { origin, gateway, get } = bed
    origin.otherwise({ headers: { 'cache-control': 'max-age=60' }, body: 'x'.repeat(10_000) })
    const before = await scrape(gateway)
    for (let i = 0; i < 3; i++) await get(`/api/stored-${i}`)
    const after = await scrape(gateway)
    expect(delta(before, after, 'corral_store_entries', { tier: 'memory' })).toBe(3)
    expect(delta(before, after, 'corral_store_bytes', { tier: 'memory' })).toBeGreaterThan(30_000)
    expect(after.value('corral_store_max_bytes', { tier: 'memory' })).toBe(gateway.runtime.config.store.memory.maxBytes)
    const store = gateway.runtime.store
    expect(store).toBeInstanceOf(MemoryStore)
    expect(after.value('corral_store_bytes', { tier: 'memory' })).toBe((store as MemoryStore).statsSync().bytes)
    expect(after.series('corral_store_entries').map((s) => s.labels.tier)).toEqual(['memory'])
  })

  it('evictions: a small budget filled past its size evicts, and says so', async () => {
    const origin = await Origin.start()
    origin.otherwise({ headers: { 'cache-control': 'max-age=60' }, body: 'y'.repeat(64 * 1024) })
    const gateway = await startTestGateway(testConfig(origin.url, { store: { memory: { maxSize: '1MiB', maxObjectSize: '128KiB' } } }))
    try {
      const get = client(gateway.urls[0]!)
      const before = await scrape(gateway)
      expect(before.value('corral_store_evictions_total', { tier: 'memory' })).toBe(0)
      for (let i = 0; i < 30; i++) await get(`/big-${i}`)
      const after = await scrape(gateway)
      const entries = after.value('corral_store_entries', { tier: 'memory' })
      expect(entries).toBeGreaterThan(0)
      expect(entries).toBeLessThan(30)
      // Every entry not held any more was evicted to make room.
      expect(after.value('corral_store_evictions_total', { tier: 'memory' })).toBe(30 - entries)
      expect(after.value('corral_store_bytes', { tier: 'memory' })).toBeLessThanOrEqual(after.value('corral_store_max_bytes', { tier: 'memory' }))
    } finally {
      await gateway.close()
      await origin.close()
    }
  })
})

describe('metrics: what the lead calls, routes, build, conventions', () => {
  it('purges and reloads, counted by kind and outcome', async () => {
    const { gateway } = bed
    const before = await scrape(gateway)
    gateway.runtime.metrics.purged('tag', true, 3)
    gateway.runtime.metrics.purged('tag', false, 2)
    gateway.runtime.metrics.purged('url', false, 0)
    gateway.runtime.metrics.reloaded(true)
    gateway.runtime.metrics.reloaded(false)
    gateway.runtime.metrics.reloaded(false)
    const after = await scrape(gateway)
    expect(delta(before, after, 'corral_purges_total', { kind: 'tag', soft: 'true' })).toBe(1)
    expect(delta(before, after, 'corral_purges_total', { kind: 'tag', soft: 'false' })).toBe(1)
    expect(delta(before, after, 'corral_purges_total', { kind: 'url', soft: 'false' })).toBe(1)
    expect(delta(before, after, 'corral_purged_entries_total', { kind: 'tag' })).toBe(5)
    expect(delta(before, after, 'corral_purged_entries_total', { kind: 'url' })).toBe(0)
    expect(delta(before, after, 'corral_reloads_total', { result: 'ok' })).toBe(1)
    expect(delta(before, after, 'corral_reloads_total', { result: 'refused' })).toBe(2)
  })

  it('one info series per configured route, read from the config in force; the version; not in fleet mode', async () => {
    const { gateway } = bed
    const exposition = await scrape(gateway)
    expect(exposition.series('corral_route_info').map((s) => ({ ...s.labels, value: s.value }))).toEqual([
      { route: 'api', upstream: 'default', cached: 'true', value: 1 },
      { route: 'swr', upstream: 'default', cached: 'true', value: 1 },
      { route: 'pass', upstream: 'default', cached: 'false', value: 1 },
      { route: 'down', upstream: 'down', cached: 'true', value: 1 },
    ])
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(exposition.value('corral_build_info', { version: pkg.version })).toBe(1)
    expect(exposition.value('corral_fleet_mode')).toBe(0)
    expect([...exposition.families.keys()].filter((n) => n.startsWith('corral_redis_'))).toEqual([])

    // A reload replaces the runtime's config: the next scrape shows the new routes.
    const rt = gateway.runtime as { config: typeof gateway.runtime.config }
    const previous = rt.config
    try {
      rt.config = testConfig(bed.origin.url, { routes: [{ name: 'only', cache: false }] })
      expect((await scrape(gateway)).series('corral_route_info').map((s) => s.labels)).toEqual([{ route: 'only', upstream: 'default', cached: 'false' }])
    } finally {
      rt.config = previous
    }
  })

  it('names follow Prometheus conventions: corral_ prefix, counters in _total, seconds and bytes as units, help for all', async () => {
    const exposition = await scrape(bed.gateway)
    expect(exposition.families.size).toBeGreaterThan(30)
    for (const [name, { type, help }] of exposition.families) {
      expect(name, name).toMatch(/^corral_[a-z0-9_]+$/)
      expect(help.length, `${name} has no help`).toBeGreaterThan(0)
      if (type === 'counter') expect(name, `${name}: a counter ends in _total`).toMatch(/_total$/)
      if (type === 'histogram') expect(name, `${name}: a histogram of time is in seconds`).toMatch(/_seconds$/)
      if (isProcessMetric(name)) continue
      expect(['counter', 'gauge', 'histogram'], name).toContain(type)
      if (type === 'gauge') expect(name, `${name}: only counters end in _total`).not.toMatch(/_total$/)
      if (/duration|latency|_lag/.test(name)) expect(name, `${name}: a time is in seconds`).toMatch(/_seconds(_total)?$/)
      if (/bytes/.test(name)) expect(name, `${name}: a size is in bytes`).toMatch(/_bytes(_total)?$/)
    }
    // Process metrics, event-loop lag included.
    expect(exposition.families.get('corral_nodejs_eventloop_lag_seconds')?.type).toBe('gauge')
    expect(exposition.families.get('corral_process_cpu_seconds_total')?.type).toBe('counter')
    expect(exposition.value('corral_process_resident_memory_bytes')).toBeGreaterThan(0)
  })

  it('two runtimes in one process keep their own registries and counts', async () => {
    const origin = await Origin.start()
    const other = await startTestGateway(testConfig(origin.url))
    try {
      const before = await scrape(bed.gateway)
      await client(other.urls[0]!)('/elsewhere')
      expect(delta(before, await scrape(bed.gateway), 'corral_requests_total', { route: 'default', cache_status: 'MISS' })).toBe(0)
      expect((await scrape(other)).value('corral_requests_total', { route: 'default', cache_status: 'MISS' })).toBe(1)
    } finally {
      await other.close()
      await origin.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Workers: aggregation, and prom-client's IPC messages
// ---------------------------------------------------------------------------------------------

describe('metrics: workers', () => {
  it("summed over workers, except what is shared or the same in each: l2, Redis, routes, build", async () => {
    const workers = [new Metrics(), new Metrics()]
    // As two workers of one instance would report them (prom-client's getMetricsAsJSON).
    const json = await Promise.all(
      workers.map(async (m, i) => {
        const all = await m.registry.getMetricsAsJSON()
        return all.map((metric) => {
          if (metric.name === 'corral_store_entries') {
            return { ...metric, values: [{ labels: { tier: 'l1' }, value: 10 + i }, { labels: { tier: 'l2' }, value: 100 + i }] }
          }
          if (metric.name === 'corral_requests_total') return { ...metric, values: [{ labels: { route: 'api', cache_status: 'HIT' }, value: 5 }] }
          return metric
        })
      }),
    )
    const exposition = parseExposition(await AggregatorRegistry.aggregate(json).metrics())
    expect(exposition.value('corral_store_entries', { tier: 'l1' })).toBe(21)
    expect(exposition.value('corral_store_entries', { tier: 'l2' })).toBe(101)
    expect(exposition.value('corral_requests_total', { route: 'api', cache_status: 'HIT' })).toBe(10)
    expect(exposition.series('corral_build_info').map((s) => s.value)).toEqual([1])
    expect(exposition.value('corral_fleet_mode')).toBe(0)
  })

  it('--workers 2: the admin listener of the primary serves the sum of its workers', async () => {
    const origin = await Origin.start()
    origin.otherwise({ headers: { 'cache-control': 'max-age=60' }, body: 'shared by the workers' })
    const adminPort = await freePort()
    const corral = await startCorral(
      ['--upstream', origin.url, '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--admin-port', String(adminPort)],
      {},
      { workers: 2 },
    )
    try {
      await corral.waitFor((l) => l.msg === 'admin listening')
      // A connection of its own per request: the primary hands new connections to the workers in turn.
      const statuses: string[] = []
      for (let i = 0; i < 6; i++) statuses.push(await getOnNewConnection(`${corral.url}/shared`))
      // One MISS, unless a worker was asked before the first one's entry reached it.
      const misses = statuses.filter((s) => s === 'MISS').length
      expect(misses).toBeGreaterThanOrEqual(1)
      expect(statuses.filter((s) => s === 'HIT')).toHaveLength(6 - misses)
      const res = await request(`http://127.0.0.1:${adminPort}/metrics`)
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
      const exposition = parseExposition(await res.body.text())
      expect(exposition.value('corral_requests_total', { route: 'default', cache_status: 'MISS' })).toBe(misses)
      expect(exposition.value('corral_requests_total', { route: 'default', cache_status: 'HIT' })).toBe(6 - misses)
      expect(exposition.value('corral_origin_requests_total', { upstream: 'default', code: '2xx' })).toBe(misses)
      // The same in every worker: once, not twice.
      expect(exposition.series('corral_build_info').map((s) => s.value)).toEqual([1])
      expect(exposition.series('corral_route_info').map((s) => s.value)).toEqual([1])
      expect(exposition.value('corral_fleet_mode')).toBe(0)
      // Each worker holds the entry (the primary relays it): two copies in memory, each one's budget.
      expect(exposition.value('corral_store_entries', { tier: 'memory' })).toBe(2)
      expect(exposition.value('corral_store_max_bytes', { tier: 'memory' })).toBe(2 * 256 * 1024 * 1024)
      expect(exposition.families.get('corral_nodejs_eventloop_lag_seconds')?.type).toBe('gauge')
      // corral's own IPC still works beside prom-client's: a second key is a single fetch too.
      expect(await getOnNewConnection(`${corral.url}/other`)).toBe('MISS')
      await vi.waitFor(async () => expect(await getOnNewConnection(`${corral.url}/other`)).toBe('HIT'))
    } finally {
      corral.kill()
      await corral.exited
      await origin.close()
    }
  }, 30_000)

  it("prom-client's cluster messages are not mistaken for corral's own", () => {
    for (const message of [
      { type: 'prom-client:getMetricsReq', requestId: 1 },
      { type: 'prom-client:getMetricsRes', requestId: 1, metrics: [] },
    ]) {
      expect(isToPrimary(message)).toBe(false)
      expect(isToWorker(message)).toBe(false)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Fleet mode: Redis metrics and the two tiers
// ---------------------------------------------------------------------------------------------

describeRedis('metrics: fleet mode', () => {
  let redis: RedisServer
  let origin: Origin
  let gateway: Gateway
  beforeAll(async () => {
    redis = await startRedis()
    origin = await Origin.start()
    gateway = await startTestGateway(testConfig(origin.url, { store: { redis: { url: redis.url, prefix: `metrics${process.pid}` } } }))
    if (!(await gateway.runtime.redis!.whenAvailable(5_000))) throw new Error('the gateway did not connect to redis')
  })
  afterAll(async () => {
    await gateway?.close()
    await origin?.close()
    await redis?.stop()
  })

  it('Redis up, breaker closed, both tiers; then Redis gone: down, breaker and errors move', async () => {
    origin.otherwise({ headers: { 'cache-control': 'max-age=60' }, body: 'shared' })
    const get = client(gateway.urls[0]!)
    await get('/fleet/a')
    await get('/fleet/b')
    const up = await scrape(gateway)
    expect(up.value('corral_fleet_mode')).toBe(1)
    expect(up.value('corral_redis_up')).toBe(1)
    expect(up.value('corral_redis_breaker_state')).toBe(0)
    expect(up.value('corral_store_entries', { tier: 'l1' })).toBe(2)
    expect(up.value('corral_store_entries', { tier: 'l2' })).toBeGreaterThanOrEqual(2)
    expect(up.value('corral_store_bytes', { tier: 'l2' })).toBeGreaterThan(0)
    expect(up.value('corral_store_max_bytes', { tier: 'l1' })).toBe(gateway.runtime.config.store.memory.maxBytes)
    for (const name of ['corral_redis_errors_total', 'corral_redis_timeouts_total', 'corral_redis_skipped_total', 'corral_redis_breaker_opens_total']) {
      expect(up.families.get(name)?.type, name).toBe('counter')
    }

    await redis.kill()
    // Requests keep being served (fail open) while the connection notices.
    await vi.waitFor(
      async () => {
        await get(`/fleet/${Math.random()}`)
        expect((await scrape(gateway)).value('corral_redis_up')).toBe(0)
      },
      { timeout: 10_000, interval: 100 },
    )
    const down = await scrape(gateway)
    expect(down.series('corral_store_entries').map((s) => s.labels.tier)).toEqual(['l1'])
    expect(
      down.value('corral_redis_errors_total') + down.value('corral_redis_skipped_total') - up.value('corral_redis_errors_total') - up.value('corral_redis_skipped_total'),
    ).toBeGreaterThan(0)
    await redis.restart()
    await vi.waitFor(async () => expect((await scrape(gateway)).value('corral_redis_up')).toBe(1), { timeout: 10_000, interval: 100 })
  })
})

// ---------------------------------------------------------------------------------------------
// The Grafana dashboard reads what /metrics exposes
// ---------------------------------------------------------------------------------------------

interface Panel {
  title?: string
  type: string
  datasource?: { type: string; uid: string }
  targets?: Array<{ expr: string; datasource?: { uid: string } }>
  panels?: Panel[]
}

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/corral-dashboard.json', import.meta.url), 'utf8')) as {
    __inputs: Array<{ name: string; type: string; pluginId: string }>
    schemaVersion: number
    title: string
    uid: string
    panels: Panel[]
    templating: { list: Array<{ name: string; type: string; query?: unknown }> }
  }
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row')
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? '', expr: t.expr })))

  it('is an importable dashboard with a Prometheus data source input', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    expect(dashboard.uid).toMatch(/^[a-z0-9-]+$/)
    expect(dashboard.__inputs).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }))
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}')
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
    }
    const titles = panels.map((p) => p.title?.toLowerCase() ?? '').join(' | ')
    for (const topic of ['hit ratio', 'requests', 'origin latency', 'origin errors', 'coalesc', 'stale', 'store', 'redis', 'event loop', 'purge']) {
      expect(titles).toContain(topic)
    }
  })

  it('every query is valid PromQL and reads only metrics that /metrics exposes (fleet mode included)', async () => {
    const exposed = new Set<string>()
    const add = (e: Exposition): void => {
      for (const [name, { type }] of e.families) {
        exposed.add(name)
        if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(name + suffix)
      }
    }
    add(await scrape(bed.gateway))
    // What only fleet mode exposes, from a runtime built for it (it need not reach Redis to say what it has).
    const fleet = new Metrics({ fleet: true })
    add(parseExposition(await fleet.render()))

    const used = new Set<string>()
    for (const { panel, expr } of exprs) {
      // Grafana's variables are not PromQL: give them a value of the type Prometheus would see.
      const query = expr.replace(/\$__(rate_interval|interval|range)/g, '5m').replace(/\$\{?(\w+)\}?/g, '$1')
      let error = false
      promql.parse(query).iterate({
        enter: (node) => {
          if (node.type.isError) error = true
          if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') used.add(query.slice(node.from, node.to))
        },
      })
      expect(error, `${panel}: not valid PromQL: ${expr}`).toBe(false)
    }
    // The variables' label_values(selector, label) read metrics too.
    for (const variable of dashboard.templating.list) {
      const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query: string }).query
      const selector = /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1]
      expect(selector, `variable ${variable.name}: ${query}`).toBeDefined()
      promql.parse(selector!.replace(/\$(\w+)/g, '$1')).iterate({
        enter: (node) => {
          if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') used.add(selector!.slice(node.from, node.to))
        },
      })
    }
    expect(used.size).toBeGreaterThan(10)
    for (const name of used) expect(exposed.has(name), `the dashboard reads ${name}, which /metrics does not expose`).toBe(true)
  })
})

/** A GET on a connection of its own (no keep-alive); resolves with X-Cache-Status. */
function getOnNewConnection(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(String(res.headers['x-cache-status'])))
    }).on('error', reject)
  })
}

/** prom-client's default metrics (process_*, nodejs_*): named by prom-client, not by corral. */
function isProcessMetric(name: string): boolean {
  return name.startsWith('corral_process_') || name.startsWith('corral_nodejs_')
}
