/**
 * fleet-stampede: K corral instances (--instances, 4) share one private redis-server in front of
 * an origin that answers after 200 ms. Each round, a crowd of N requests (--crowd, 1000) for one
 * cold key — a new path every round — is spread evenly over the instances and sent at once, on
 * connections opened beforehand (an undici Pool per instance, N/K connections, opened by the
 * warm-up rounds), every request timed from its own send to the end of its body. Every client
 * sends the same Host (`fleet.test`), as behind a load balancer: the Host is part of the key.
 *
 * Fleet-wide coalescing means one origin request per round, whatever N and K: checked, with no
 * failed or non-2xx request. The target, p99 within the origin's 200 ms + 100 ms, is
 * reported (`p99OverOriginMs`) but not checked: on a small machine the crowd, K corral
 * instances, redis-server and the origin share few cores (see load-tests/README.md).
 *
 * The same-run baseline: the same crowd, on the same number of pools and connections, sent to
 * the origin directly (every request then waits its 200 ms): what this client and machine add to
 * a crowd of N answered after 200 ms, without corral.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'
import {
  cpuMeter,
  countHits,
  originHits,
  ratio,
  redisCommandCounts,
  report,
  resetRedisStats,
  crowdLatency,
  REQUEST_TIMEOUT_MS,
  round,
  Servers,
  waitForRedisWrites,
  type Options,
  type Report,
  type Scenario,
  type Server,
} from '../lib.js'

const ORIGIN_DELAY_MS = 200
const CACHE_CONTROL = 'max-age=3600'
/** The Host every client sends, to every instance: the cache key includes it. */
const FLEET_HOST = 'fleet.test'
/** The stub origin's body (load-tests/origin.ts): anything else is a failed request. */
const BODY_BYTES = 1024
/** The target: p99 within the origin's delay plus this. */
const TARGET_P99_OVER_ORIGIN_MS = 100
/**
 * Warm-up rounds: at least this many, and more until --warmup seconds have passed. Freshly
 * started instances answer the first crowds 100 ms slower or so (their JIT is cold); a few
 * rounds of 250 requests per instance are not enough to hide that.
 */
const MIN_WARM_UP_ROUNDS = 10
/** Measured rounds: as many as fit in --duration, within these bounds. */
const MIN_ROUNDS = 3
const MAX_ROUNDS = 100
/** Measured rounds of the baseline, after one warm-up round. */
const BASELINE_ROUNDS = 3
/** Between rounds: the last responses' access-log lines written, the entry settled. */
const PAUSE_MS = 100

/** One request of a crowd. `error` set: it failed (connection, timeout, or a short body). */
interface Sample {
  readonly round: number
  readonly instance: number
  readonly ms: number
  readonly status: number
  readonly cacheStatus: string
  readonly collapsed: boolean
  readonly error?: string
}

/** Keep-alive connections to each server, N/K per server: opened by the first crowd sent. */
class Crowd {
  readonly pools: Pool[]

  constructor(
    urls: readonly string[],
    readonly size: number,
  ) {
    const perPool = Math.ceil(size / urls.length)
    this.pools = urls.map(
      (url) =>
        new Pool(url, {
          connections: perPool,
          pipelining: 1,
          connect: { timeout: REQUEST_TIMEOUT_MS },
          headersTimeout: REQUEST_TIMEOUT_MS,
          bodyTimeout: REQUEST_TIMEOUT_MS,
        }),
    )
  }

  /** Connections open now, over every pool. */
  connected(): number {
    return this.pools.reduce((n, pool) => n + pool.stats.connected, 0)
  }

  /** `size` requests for `path`, request i to server i mod K, all sent in one go. */
  fire(path: string, roundNo: number): Promise<Sample[]> {
    const pending: Promise<Sample>[] = []
    for (let i = 0; i < this.size; i++) {
      const instance = i % this.pools.length
      pending.push(send(this.pools[instance]!, path, roundNo, instance))
    }
    return Promise.all(pending)
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.destroy()))
  }
}

async function send(pool: Pool, path: string, roundNo: number, instance: number): Promise<Sample> {
  const start = performance.now()
  const failed = (error: string): Sample => ({
    round: roundNo,
    instance,
    ms: performance.now() - start,
    status: 0,
    cacheStatus: '',
    collapsed: false,
    error,
  })
  try {
    const res = await pool.request({ method: 'GET', path, headers: { host: FLEET_HOST }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    const body = await res.body.arrayBuffer()
    const ms = performance.now() - start
    if (res.statusCode >= 200 && res.statusCode < 300 && body.byteLength !== BODY_BYTES) return failed(`body of ${body.byteLength} bytes`)
    return {
      round: roundNo,
      instance,
      ms,
      status: res.statusCode,
      cacheStatus: headerText(res.headers['x-cache-status']),
      collapsed: /\bcollapsed\b/.test(headerText(res.headers['cache-status'])),
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    return failed(typeof code === 'string' ? code : err instanceof Error ? err.name : String(err))
  }
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '')
}


function count(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

interface Baseline {
  readonly scenario: 'direct'
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly p99OverOriginMs: number
  readonly errors: number
  readonly non2xx: number
  readonly requests: number
  readonly rounds: number
}

/** The crowd sent straight to the origin: the floor of what this client and machine add. */
async function measureBaseline(origin: Server, options: Options): Promise<Baseline> {
  const crowd = new Crowd(Array.from({ length: options.instances }, () => origin.url), options.crowd)
  try {
    await crowd.fire('/direct/warm-up', 0)
    const samples: Sample[] = []
    for (let n = 1; n <= BASELINE_ROUNDS; n++) {
      samples.push(...(await crowd.fire(`/direct/${n}`, n)))
      await sleep(PAUSE_MS)
    }
    const figures = crowdLatency(samples)
    return {
      scenario: 'direct',
      ...figures,
      p99OverOriginMs: round(figures.p99Ms - ORIGIN_DELAY_MS, 3),
      errors: samples.filter((s) => s.error !== undefined).length,
      non2xx: samples.filter((s) => s.error === undefined && (s.status < 200 || s.status >= 300)).length,
      requests: samples.length,
      rounds: BASELINE_ROUNDS,
    }
  } finally {
    await crowd.close()
  }
}

async function run(options: Options): Promise<Report> {
  const servers = new Servers(options)
  let crowd: Crowd | undefined
  try {
    const redis = await servers.redis()
    const origin = await servers.origin({ cacheControl: CACHE_CONTROL, delayMs: ORIGIN_DELAY_MS })
    const baseline = await measureBaseline(origin, options)

    const corrals: Server[] = []
    for (let i = 1; i <= options.instances; i++) {
      corrals.push(await servers.corral(origin.url, { name: `corral-${i}`, args: ['--redis', redis.url] }))
    }
    for (const corral of corrals) await waitForRedisWrites(corral, redis, { host: FLEET_HOST })
    const problems: string[] = []

    // Warm-up rounds: the first opens every connection (all its requests wait for the origin at
    // once); the others warm the JIT. Their figures are discarded.
    crowd = new Crowd(
      corrals.map((c) => c.url),
      options.crowd,
    )
    const warmUpEnds = performance.now() + options.warmupS * 1000
    for (let n = 1; n <= MIN_WARM_UP_ROUNDS || performance.now() < warmUpEnds; n++) {
      await crowd.fire(`/warm-up/${n}`, 0)
      await sleep(PAUSE_MS)
    }

    const samples: Sample[] = []
    const originRequestsPerRound: number[] = []
    let fewestConnections = crowd.connected()
    const hitsAfterRun = await countHits(origin)
    await resetRedisStats(redis)
    const cpu = cpuMeter([...corrals, redis, origin], 'the fleet')
    const started = performance.now()
    const endsAt = started + options.durationS * 1000
    for (let n = 1; n <= MIN_ROUNDS || (n <= MAX_ROUNDS && performance.now() < endsAt); n++) {
      fewestConnections = Math.min(fewestConnections, crowd.connected())
      const before = await originHits(origin)
      samples.push(...(await crowd.fire(`/stampede/${n}`, n)))
      originRequestsPerRound.push((await originHits(origin)) - before)
      await sleep(PAUSE_MS)
    }
    const durationS = round((performance.now() - started) / 1000, 2)
    const cpuPct = cpu()
    const redisCommands = await redisCommandCounts(redis)
    const hits = await hitsAfterRun()

    const answered = samples.filter((s) => s.error === undefined)
    const failed = samples.filter((s) => s.error !== undefined)
    const non2xx = answered.filter((s) => s.status < 200 || s.status >= 300)
    const figures = crowdLatency(samples)
    originRequestsPerRound.forEach((n, i) => {
      if (n !== 1) problems.push(`round ${i + 1}: the origin was asked ${n} times for one key, expected once for the fleet`)
    })
    if (failed.length > 0) {
      const kinds = Object.entries(count(failed.map((s) => s.error ?? ''))).map(([kind, n]) => `${n} ${kind}`)
      problems.push(`${failed.length} requests failed: ${kinds.join(', ')}`)
    }
    if (non2xx.length > 0) {
      const statuses = Object.entries(count(non2xx.map((s) => String(s.status)))).map(([status, n]) => `${n}× ${status}`)
      problems.push(`${non2xx.length} responses were not 2xx: ${statuses.join(', ')}`)
    }
    if (fewestConnections < options.crowd) {
      problems.push(`only ${fewestConnections} of ${options.crowd} connections were open at the start of a round: the crowd queued in the client`)
    }

    const slowest = answered.reduce<Sample | undefined>((a, s) => (a === undefined || s.ms > a.ms ? s : a), undefined)
    const rounds = originRequestsPerRound.length
    const extra = {
      logLevel: options.logLevel,
      instances: options.instances,
      crowd: options.crowd,
      rounds,
      originRequestsPerRound,
      originDelayMs: ORIGIN_DELAY_MS,
      maxMs: figures.maxMs,
      p99OverOriginMs: round(figures.p99Ms - ORIGIN_DELAY_MS, 3),
      targetP99OverOriginMs: TARGET_P99_OVER_ORIGIN_MS,
      collapsed: answered.filter((s) => s.collapsed).length,
      leaderP50Ms: crowdLatency(answered.filter((s) => !s.collapsed && s.cacheStatus === 'MISS')).p50Ms,
      redisCommandsPerRound: round(Object.values(redisCommands).reduce((a, b) => a + b, 0) / rounds, 1),
      redisCommandsPerRoundByName: Object.fromEntries(Object.entries(redisCommands).map(([name, n]) => [name, round(n / rounds, 1)])),
      cacheStatus: count(answered.map((s) => s.cacheStatus || '(none)')),
      p99MsPerRound: Array.from({ length: rounds }, (_, i) => crowdLatency(samples.filter((s) => s.round === i + 1)).p99Ms),
      p99MsByInstance: corrals.map((_, i) => crowdLatency(samples.filter((s) => s.instance === i)).p99Ms),
      slowest:
        slowest === undefined
          ? null
          : { ms: round(slowest.ms, 3), round: slowest.round, instance: slowest.instance + 1, cacheStatus: slowest.cacheStatus, collapsed: slowest.collapsed },
      baseline,
      ratioP99: ratio(figures.p99Ms, baseline.p99Ms),
    }
    const measured = {
      reqPerSec: round(answered.length / durationS, 1),
      p50Ms: figures.p50Ms,
      p99Ms: figures.p99Ms,
      errors: failed.length,
      non2xx: non2xx.length,
      requests: answered.length,
      durationS,
      cpuPct,
    }
    return report('fleet-stampede', { ...options, connections: options.crowd }, measured, hits, extra, problems)
  } finally {
    await crowd?.close()
    await servers.stop()
  }
}

export const fleetStampede: Scenario = {
  name: 'fleet-stampede',
  description: `K corral instances on one redis-server, rounds of N requests for one cold key (origin ${ORIGIN_DELAY_MS} ms): one origin request per round`,
  run,
  // The baseline's rounds, the warm-up rounds (at least 10) and the measured ones: more than 2 loads.
  setups: () => 3,
}
