/**
 * hit, the headline: corral serving one fresh entry from memory, against the direct floor
 * measured in the same run. The origin says max-age=3600, so after the first request every
 * response is a HIT; checked: the first request is a MISS, a request after the run is a HIT,
 * and the origin was hit exactly once.
 */
import {
  baselineOf,
  countHits,
  GET,
  measure,
  probe,
  ratio,
  report,
  Servers,
  warmUp,
  type Options,
  type Report,
  type Scenario,
} from '../lib.js'
import { measureDirect } from './direct.js'

const CACHE_CONTROL = 'max-age=3600'

async function run(options: Options): Promise<Report> {
  const baseline = await measureDirect(options, { cacheControl: CACHE_CONTROL })

  const servers = new Servers(options)
  try {
    const origin = await servers.origin({ cacheControl: CACHE_CONTROL })
    const corral = await servers.corral(origin.url)
    const url = `${corral.url}/items/1`
    const problems: string[] = []

    const first = await probe(url)
    if (first.status !== 200 || first.cacheStatus !== 'MISS') {
      problems.push(`first request: ${first.status} ${first.cacheStatus}, expected 200 MISS`)
    }
    await warmUp(url, options, GET)
    const hitsAfterRun = await countHits(origin)
    const figures = await measure(url, options, GET, [corral, origin])
    const last = await probe(url)
    if (last.status !== 200 || last.cacheStatus !== 'HIT') {
      problems.push(`request after the run: ${last.status} ${last.cacheStatus}, expected 200 HIT`)
    }
    const hits = await hitsAfterRun()
    if (hits.total !== 1) problems.push(`the origin was hit ${hits.total} times, expected exactly once`)

    const extra = {
      logLevel: options.logLevel,
      baseline: baselineOf(baseline),
      ratioReqPerSec: ratio(figures.reqPerSec, baseline.reqPerSec),
      ratioP99: ratio(figures.p99Ms, baseline.p99Ms),
    }
    return report('hit', options, figures, hits, extra, problems)
  } finally {
    await servers.stop()
  }
}

export const hit: Scenario = {
  name: 'hit',
  description: 'corral answering from memory (every request a HIT) vs direct, in the same run: the headline',
  run,
}
