/**
 * hit, the headline: corral serving one fresh entry from memory, against the direct floor
 * measured in the same run. The origin says max-age=3600, so after the first request every
 * response is a HIT; checked: the first request is a MISS, a request after the run is a HIT,
 * and the origin was hit exactly once.
 *
 * With --redis, corral in fleet mode (its own private redis-server, L1 on) is measured too, the
 * same way, after the memory-only one: `redis` and `ratioRedisToMemory` (target >= 0.95: with L1
 * on, a hit should cost what it costs without Redis). Without --redis the line is as before.
 */
import {
  baselineOf,
  countHits,
  GET,
  measure,
  probe,
  ratio,
  redisKeys,
  report,
  Servers,
  waitForRedisWrites,
  warmUp,
  type Figures,
  type Hits,
  type Options,
  type Report,
  type Scenario,
} from '../lib.js'
import { measureDirect } from './direct.js'

const CACHE_CONTROL = 'max-age=3600'

/** What one corral setup measured, and what its checks found. */
interface Measured {
  readonly figures: Figures
  readonly hits: Hits
  /** Origin hits since the first request for the measured URL (readiness probes excluded). */
  readonly originHitsForUrl: number
  readonly problems: string[]
}

/** corral from memory, or (withRedis) in fleet mode with a private redis-server. */
async function measureCorral(options: Options, withRedis: boolean): Promise<Measured> {
  const servers = new Servers(options)
  try {
    const redis = withRedis ? await servers.redis() : undefined
    const origin = await servers.origin({ cacheControl: CACHE_CONTROL })
    const corral = await servers.corral(origin.url, redis === undefined ? {} : { args: ['--redis', redis.url] })
    if (redis !== undefined) await waitForRedisWrites(corral, redis)
    const url = `${corral.url}/items/1`
    const problems: string[] = []
    const label = redis === undefined ? '' : 'with --redis: '

    const sinceFirst = await countHits(origin)
    const keysBefore = redis === undefined ? 0 : await redisKeys(redis)
    const first = await probe(url)
    if (first.status !== 200 || first.cacheStatus !== 'MISS') {
      problems.push(`${label}first request: ${first.status} ${first.cacheStatus}, expected 200 MISS`)
    }
    await warmUp(url, options, GET)
    const hitsAfterRun = await countHits(origin)
    const figures = await measure(url, options, GET, redis === undefined ? [corral, origin] : [corral, origin, redis])
    const last = await probe(url)
    if (last.status !== 200 || last.cacheStatus !== 'HIT') {
      problems.push(`${label}request after the run: ${last.status} ${last.cacheStatus}, expected 200 HIT`)
    }
    const hits = await hitsAfterRun()
    const originHitsForUrl = (await sinceFirst()).run
    if (originHitsForUrl !== 1) problems.push(`${label}the origin was hit ${originHitsForUrl} times, expected exactly once`)
    if (redis !== undefined && (await redisKeys(redis)) <= keysBefore) problems.push(`${label}the entry was not stored in redis`)
    return { figures, hits, originHitsForUrl, problems }
  } finally {
    await servers.stop()
  }
}

async function run(options: Options): Promise<Report> {
  const baseline = await measureDirect(options, { cacheControl: CACHE_CONTROL })
  const memory = await measureCorral(options, false)
  const redis = options.redis ? await measureCorral(options, true) : undefined
  // Two setups measured one after the other differ by up to ±8 % on a shared VM even when they
  // are the same. With --redis, each is measured once more, in the other order, and the ratio
  // is taken over both rounds.
  const again = options.redis ? { redis: await measureCorral(options, true), memory: await measureCorral(options, false) } : undefined

  const extra = {
    logLevel: options.logLevel,
    baseline: baselineOf(baseline),
    ratioReqPerSec: ratio(memory.figures.reqPerSec, baseline.reqPerSec),
    ratioP99: ratio(memory.figures.p99Ms, baseline.p99Ms),
    ...(redis === undefined
      ? {}
      : {
          redis: {
            reqPerSec: redis.figures.reqPerSec,
            p50Ms: redis.figures.p50Ms,
            p99Ms: redis.figures.p99Ms,
            errors: redis.figures.errors,
            non2xx: redis.figures.non2xx,
            originHits: redis.hits.run,
            durationS: redis.figures.durationS,
            requests: redis.figures.requests,
            originHitsTotal: redis.originHitsForUrl,
            cpuPct: redis.figures.cpuPct,
          },
          ratioRedisToMemory: ratio(
            redis.figures.reqPerSec + (again?.redis.figures.reqPerSec ?? 0),
            memory.figures.reqPerSec + (again?.memory.figures.reqPerSec ?? 0),
          ),
          rounds: again === undefined ? undefined : {
            memory: [memory.figures.reqPerSec, again.memory.figures.reqPerSec],
            redis: [redis.figures.reqPerSec, again.redis.figures.reqPerSec],
          },
          ratioRedisP99: ratio(redis.figures.p99Ms, memory.figures.p99Ms),
        }),
  }
  const problems = [...memory.problems, ...(redis?.problems ?? []), ...(again?.redis.problems ?? []), ...(again?.memory.problems ?? [])]
  return report('hit', options, memory.figures, memory.hits, extra, problems)
}

export const hit: Scenario = {
  name: 'hit',
  description: 'corral answering from memory (every request a HIT) vs direct, in the same run: the headline (--redis: and in fleet mode)',
  run,
  setups: (options) => (options.redis ? 5 : 2),
}
