/**
 * stale-updating: one key with max-age=1, stale-while-revalidate=60 behind a slow origin (50 ms).
 * Once the entry is stale, requests are answered from it at once while one background request
 * refreshes it, so nobody waits for the origin and the origin sees about one request per second.
 */
import { checkOncePerSecond, countHits, GET, measure, report, Servers, warmUp, type Options, type Report, type Scenario } from '../lib.js'

async function run(options: Options): Promise<Report> {
  const servers = new Servers(options)
  try {
    const origin = await servers.origin({ cacheControl: 'max-age=1, stale-while-revalidate=60', delayMs: 50 })
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
    return report('stale-updating', options, figures, hits, extra, problems)
  } finally {
    await servers.stop()
  }
}

export const staleUpdating: Scenario = {
  name: 'stale-updating',
  description: 'one key, max-age=1 + stale-while-revalidate=60, origin 50 ms: stale served, refreshed in background',
  run,
}
