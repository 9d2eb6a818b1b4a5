/**
 * bypass: POST requests, which corral never caches (BYPASS, reason METHOD), streamed through to
 * the origin, against the same POSTs sent to the origin directly, and through a bare http-proxy-3
 * (the cost of any Node proxy hop): the pass-through overhead.
 * Every request reaches the origin, so originHits should match the requests answered.
 */
import {
  baselineOf,
  countHits,
  measure,
  probe,
  ratio,
  report,
  Servers,
  warmUp,
  type Load,
  type Options,
  type Report,
  type Scenario,
} from '../lib.js'
import { measureDirect } from './direct.js'

const POST: Load = {
  method: 'POST',
  body: JSON.stringify({ name: 'load test', quantity: 1 }),
  headers: { 'content-type': 'application/json' },
}

async function run(options: Options): Promise<Report> {
  const baseline = await measureDirect(options, {}, POST)

  const servers = new Servers(options)
  try {
    const origin = await servers.origin()
    const corral = await servers.corral(origin.url)
    const url = `${corral.url}/items/1`
    const problems: string[] = []

    const first = await probe(url, POST)
    if (first.status !== 200 || first.cacheStatus !== 'BYPASS') {
      problems.push(`POST: ${first.status} ${first.cacheStatus}, expected 200 BYPASS`)
    }
    await warmUp(url, options, POST)
    const hitsAfterRun = await countHits(origin)
    const figures = await measure(url, options, POST, [corral, origin])
    const hits = await hitsAfterRun()

    const bare = await servers.bareProxy(origin.url)
    const bareUrl = `${bare.url}/items/1`
    await warmUp(bareUrl, options, POST)
    const bareFigures = await measure(bareUrl, options, POST, [bare, origin])

    const extra = {
      logLevel: options.logLevel,
      baseline: baselineOf(baseline),
      ratioReqPerSec: ratio(figures.reqPerSec, baseline.reqPerSec),
      ratioP99: ratio(figures.p99Ms, baseline.p99Ms),
      bareProxy: { reqPerSec: bareFigures.reqPerSec, p50Ms: bareFigures.p50Ms, p99Ms: bareFigures.p99Ms },
      ratioToBareProxy: ratio(figures.reqPerSec, bareFigures.reqPerSec),
    }
    return report('bypass', options, figures, hits, extra, problems)
  } finally {
    await servers.stop()
  }
}

export const bypass: Scenario = {
  name: 'bypass',
  description: 'POST through corral to the origin vs POST to the origin directly: pass-through overhead',
  run,
}
