/**
 * miss-coalesced: one key that expires every second (max-age=1) behind a slow origin (50 ms),
 * hammered by every connection. Each expiry makes one request fetch while the others wait for
 * it, so the origin should see about one request per second of run, not one per request.
 */
import { checkOncePerSecond, countHits, GET, measure, report, Servers, warmUp, type Options, type Report, type Scenario } from '../lib.js'

async function run(options: Options): Promise<Report> {
  const servers = new Servers(options)
  try {
    const origin = await servers.origin({ cacheControl: 'max-age=1', delayMs: 50 })
    const corral = await servers.corral(origin.url)
    const url = `${corral.url}/items/1`
    await warmUp(url, options, GET)
    const hitsAfterRun = await countHits(origin)
    const figures = await measure(url, options, GET, [corral, origin])
    const hits = await hitsAfterRun()
    const problems = checkOncePerSecond(hits, figures)
    const extra = {
      logLevel: options.logLevel,
      originHitsPerSec: Math.round((hits.run / figures.durationS) * 100) / 100,
    }
    return report('miss-coalesced', options, figures, hits, extra, problems)
  } finally {
    await servers.stop()
  }
}

export const missCoalesced: Scenario = {
  name: 'miss-coalesced',
  description: 'one key, max-age=1, origin 50 ms: concurrent misses coalesced (origin hits ~1/s)',
  run,
}
