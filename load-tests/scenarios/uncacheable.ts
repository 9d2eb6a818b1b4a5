/**
 * uncacheable: GETs the origin answers with `Cache-Control: no-store` (1 KiB), so that every
 * request goes to the origin through corral's cache path (a MISS, the key hit-for-miss after the
 * first answer), against, in one run, the origin alone and a bare undici hop (`bare-undici.ts`: a
 * minimal node:http server forwarding through an undici Pool, what any Node proxy hop on undici
 * costs). Every request reaches the origin, so originHits should match the requests answered.
 */
import { fileURLToPath } from 'node:url'
import { createServer, type AddressInfo } from 'node:net'
import {
  baselineOf,
  countHits,
  GET,
  measure,
  probe,
  ratio,
  report,
  round,
  Servers,
  warmUp,
  type Figures,
  type Options,
  type Report,
  type Scenario,
  type Server,
} from '../lib.js'

const BARE_UNDICI_SCRIPT = fileURLToPath(new URL('../bare-undici.ts', import.meta.url))
const NO_STORE = 'no-store'

/** Servers has no method for this baseline (yet): start it through its private node starter, stopped with the rest. */
async function bareUndici(servers: Servers, upstream: string): Promise<Server> {
  const port = await freePort()
  const start = (servers as unknown as { startNode(name: string, args: string[], port: number): Promise<Server> }).startNode.bind(servers)
  return start('bare-undici', ['--import', 'tsx', BARE_UNDICI_SCRIPT, '--port', String(port), '--target', upstream], port)
}

async function freePort(): Promise<number> {
  const probeServer = createServer()
  await new Promise<void>((resolve, reject) => {
    probeServer.once('error', reject)
    probeServer.listen(0, '127.0.0.1', resolve)
  })
  const { port } = probeServer.address() as AddressInfo
  await new Promise<void>((resolve) => probeServer.close(() => resolve()))
  return port
}

/** Server CPU per response, in µs: `cpuPct[name]` % of a core over `reqPerSec`. */
function cpuUsPerRequest(figures: Figures, name: string): number | null {
  const pct = figures.cpuPct[name]
  return pct === undefined || figures.reqPerSec === 0 ? null : round(((pct / 100) * 1e6) / figures.reqPerSec, 1)
}

function summary(figures: Figures, name: string): Record<string, unknown> {
  return {
    reqPerSec: figures.reqPerSec,
    p50Ms: figures.p50Ms,
    p99Ms: figures.p99Ms,
    errors: figures.errors,
    non2xx: figures.non2xx,
    requests: figures.requests,
    durationS: figures.durationS,
    cpuPct: figures.cpuPct,
    cpuUsPerRequest: cpuUsPerRequest(figures, name),
  }
}

async function run(options: Options): Promise<Report> {
  const servers = new Servers(options)
  try {
    const origin = await servers.origin({ cacheControl: NO_STORE })
    const problems: string[] = []

    // The origin alone.
    const directUrl = `${origin.url}/items/1`
    await warmUp(directUrl, options, GET)
    const directHits = await countHits(origin)
    const direct = await measure(directUrl, options, GET, [origin])
    const baseline = report('direct', options, direct, await directHits())

    // Through corral.
    const corral = await servers.corral(origin.url)
    const url = `${corral.url}/items/1`
    for (let i = 0; i < 2; i++) {
      const answer = await probe(url)
      if (answer.status !== 200 || answer.cacheStatus !== 'MISS') problems.push(`GET ${i + 1}: ${answer.status} ${answer.cacheStatus}, expected 200 MISS`)
    }
    await warmUp(url, options, GET)
    const hitsAfterRun = await countHits(origin)
    const figures = await measure(url, options, GET, [corral, origin])
    const hits = await hitsAfterRun()
    // Every response came from the origin (a few may be in flight when the count is read).
    if (hits.run < figures.requests) problems.push(`the origin answered ${hits.run} requests during the run, corral ${figures.requests}: some were served without it`)

    // Through a bare undici hop.
    const bare = await bareUndici(servers, origin.url)
    const bareUrl = `${bare.url}/items/1`
    await warmUp(bareUrl, options, GET)
    const bareFigures = await measure(bareUrl, options, GET, [bare, origin])

    const extra = {
      logLevel: options.logLevel,
      cpuUsPerRequest: cpuUsPerRequest(figures, 'corral'),
      baseline: baselineOf(baseline),
      ratioReqPerSec: ratio(figures.reqPerSec, direct.reqPerSec),
      ratioP99: ratio(figures.p99Ms, direct.p99Ms),
      bareUndici: summary(bareFigures, 'bare-undici'),
      ratioToBareUndici: ratio(figures.reqPerSec, bareFigures.reqPerSec),
      ratioP99ToBareUndici: ratio(figures.p99Ms, bareFigures.p99Ms),
    }
    return report('uncacheable', options, figures, hits, extra, problems)
  } finally {
    await servers.stop()
  }
}

export const uncacheable: Scenario = {
  name: 'uncacheable',
  description: 'GET of a no-store 1 KiB response through corral vs the origin alone and a bare undici hop',
  run,
  setups: () => 3,
}
