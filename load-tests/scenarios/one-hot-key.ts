/**
 * One key that expires every second behind a slow origin (50 ms), hammered by every connection:
 * the origin should see about one request per second of run, not one per request.
 * - miss-coalesced (max-age=1): each expiry makes one request fetch while the others wait for it.
 * - stale-updating (max-age=1, stale-while-revalidate=60): once stale, requests are answered from
 *   the entry at once while one background request refreshes it; nobody waits for the origin.
 */
import { checkOncePerSecond, countHits, GET, measure, report, Servers, warmUp, type Options, type Report, type Scenario } from '../lib.js'

function oneHotKey(name: string, cacheControl: string, description: string): Scenario {
  async function run(options: Options): Promise<Report> {
    const servers = new Servers(options)
    try {
      const origin = await servers.origin({ cacheControl, delayMs: 50 })
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
      return report(name, options, figures, hits, extra, problems)
    } finally {
      await servers.stop()
    }
  }
  return { name, description, run }
}

export const missCoalesced = oneHotKey(
  'miss-coalesced',
  'max-age=1',
  'one key, max-age=1, origin 50 ms: concurrent misses coalesced (origin hits ~1/s)',
)

export const staleUpdating = oneHotKey(
  'stale-updating',
  'max-age=1, stale-while-revalidate=60',
  'one key, max-age=1 + stale-while-revalidate=60, origin 50 ms: stale served, refreshed in background',
)
