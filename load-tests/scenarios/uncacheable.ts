/**
 * uncacheable: GETs the origin answers with `Cache-Control: no-store` (1 KiB), so that every
 * request goes to the origin through corral's cache path (a MISS, the key hit-for-miss after the
 * first answer), against, in one run:
 *
 * - the origin alone (the baseline);
 * - corral with `--workers 2` (both cores), after corral in one process (the scenario's row);
 * - a bare undici hop (`bare-undici.ts`: a minimal node:http server forwarding through an undici
 *   Pool, what any Node proxy hop on undici costs);
 * - nginx as a plain reverse proxy (`nginxConfig` with `cache: false`: proxy_pass, keep-alive to
 *   the origin, no proxy_cache), 1 worker, then 2 workers: what a C proxy reaches on this machine
 *   for the same requests. Only when nginx is installed (Debian: `apt-get install -y nginx-light`);
 *   without it they are reported absent (`nginx: 'absent'`, their figures null), not a failure.
 *
 * All measured with autocannon and the same --connections. Every request reaches the origin, so
 * originHits should match the requests answered, through corral and through nginx.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
import { findExecutable, INSTALL_HINT, startNginx, stopTree, treeProcesses, waitForTree, type TreeServer } from '../nginx.js'

const BARE_UNDICI_SCRIPT = fileURLToPath(new URL('../bare-undici.ts', import.meta.url))
const NO_STORE = 'no-store'
const PATH = '/items/1'
const NGINX_WORKERS = [1, 2] as const

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

/** cpuPct with the processes of a tree (`<tree> master`, `<tree> worker <i>`) added up as `<tree>`. */
function addUpTree(cpuPct: Readonly<Record<string, number>>, tree: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, pct] of Object.entries(cpuPct)) {
    const key = name.startsWith(`${tree} `) ? tree : name
    out[key] = (out[key] ?? 0) + pct
  }
  return out
}

async function get(url: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url)
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}

/**
 * nginx without proxy_cache, `workers` workers, in front of `origin`: checked to pass a GET through
 * (200, the origin's body, one origin request), then warmed up and measured like the others, the
 * CPU of its master and workers added up. Stopped before it returns.
 */
async function measureNginx(nginx: string, dir: string, workers: number, origin: Server, options: Options, problems: string[]): Promise<Figures> {
  const name = `nginx-w${workers}`
  const server = startNginx(nginx, join(dir, name), { port: await freePort(), upstreamPort: origin.port, workers, cache: false }, name)
  try {
    await waitForTree(server, { minProcesses: 1 + workers })
    const url = `${server.url}${PATH}`
    const expected = await get(`${origin.url}${PATH}`)
    const probeHits = await countHits(origin)
    const answer = await get(url)
    const forwarded = (await probeHits()).run
    if (answer.status !== 200 || !answer.body.equals(expected.body) || forwarded !== 1) {
      problems.push(`${name}: GET answered ${answer.status} with ${answer.body.length} bytes after ${forwarded} origin requests, expected 200, the origin's ${expected.body.length} bytes, 1 origin request`)
    }
    return await measureTree(name, server, url, origin, options, problems)
  } finally {
    await stopTree(server)
  }
}

/**
 * Warm `url` up and measure it, the CPU of `server`'s processes added up as `name`; the origin must
 * have answered every request of the run, and nothing failed.
 */
async function measureTree(name: string, server: TreeServer, url: string, origin: Server, options: Options, problems: string[]): Promise<Figures> {
  await warmUp(url, options, GET)
  const hitsAfterRun = await countHits(origin)
  const figures = await measure(url, options, GET, [...treeProcesses(server), origin])
  const hits = await hitsAfterRun()
  if (hits.run < figures.requests) problems.push(`the origin answered ${hits.run} requests during the run, ${name} ${figures.requests}: some were served without it`)
  if (figures.errors > 0 || figures.non2xx > 0) problems.push(`${name}: ${figures.errors} errors, ${figures.non2xx} non-2xx responses`)
  return { ...figures, cpuPct: addUpTree(figures.cpuPct, name) }
}

const CORRAL_WORKERS = 2
const WORKERS_NAME = `corral-w${CORRAL_WORKERS}`

/**
 * corral with --workers 2 in front of `origin`: checked to answer MISS, measured like the others,
 * the CPU of its primary and workers added up. Stopped before it returns, so that it does not
 * idle beside the setups measured after it.
 */
async function measureCorralWorkers(servers: Servers, origin: Server, options: Options, problems: string[]): Promise<Figures> {
  const server = await servers.corral(origin.url, { name: WORKERS_NAME, args: ['--workers', String(CORRAL_WORKERS)] })
  try {
    await waitForTree(server, { minProcesses: 1 + CORRAL_WORKERS })
    const url = `${server.url}${PATH}`
    const answer = await probe(url)
    if (answer.status !== 200 || answer.cacheStatus !== 'MISS') problems.push(`${WORKERS_NAME}: GET ${answer.status} ${answer.cacheStatus}, expected 200 MISS`)
    return await measureTree(WORKERS_NAME, server, url, origin, options, problems)
  } finally {
    await stopTree(server)
  }
}

function times(value: number | null): string {
  return value === null ? '?×' : `${value.toFixed(2)}×`
}

async function run(options: Options): Promise<Report> {
  const servers = new Servers(options)
  try {
    const origin = await servers.origin({ cacheControl: NO_STORE })
    const problems: string[] = []

    // The origin alone.
    const directUrl = `${origin.url}${PATH}`
    await warmUp(directUrl, options, GET)
    const directHits = await countHits(origin)
    const direct = await measure(directUrl, options, GET, [origin])
    const baseline = report('direct', options, direct, await directHits())

    // Through corral.
    const corral = await servers.corral(origin.url)
    const url = `${corral.url}${PATH}`
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
    const workers = await measureCorralWorkers(servers, origin, options, problems)

    // Through a bare undici hop.
    const bare = await bareUndici(servers, origin.url)
    const bareUrl = `${bare.url}${PATH}`
    await warmUp(bareUrl, options, GET)
    const bareFigures = await measure(bareUrl, options, GET, [bare, origin])

    // Through nginx, when it is installed.
    const nginx = findExecutable('nginx')
    const nginxFigures = new Map<number, Figures>()
    if (nginx === undefined) {
      process.stderr.write(`loadtest uncacheable: nginx not found, the nginx reference is left out (${INSTALL_HINT})\n`)
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'corral-uncacheable-'))
      // nginx's workers run as an unprivileged user when the runner is root: they must reach their directory.
      chmodSync(dir, 0o755)
      try {
        for (const workers of NGINX_WORKERS) {
          // An nginx that fails (a broken install, a port taken meanwhile) costs its reference, not corral's figures.
          try {
            nginxFigures.set(workers, await measureNginx(nginx, dir, workers, origin, options, problems))
          } catch (err) {
            problems.push(`nginx-w${workers}: ${(err instanceof Error ? err.message : String(err)).trimEnd()}`)
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    const [w1, w2] = NGINX_WORKERS.map((workers) => nginxFigures.get(workers))
    const nginxOf = (f: Figures | undefined, workers: number): Record<string, unknown> | null => {
      if (f === undefined) return null
      const note = `corral: ${times(ratio(figures.reqPerSec, f.reqPerSec))} its req/s`
      return { label: `nginx proxy, ${workers} worker${workers > 1 ? 's' : ''}`, note, ...summary(f, `nginx-w${workers}`) }
    }
    const ratioOf = (a: number | undefined, b: number | undefined): number | null => (a === undefined || b === undefined ? null : ratio(a, b))

    const extra = {
      logLevel: options.logLevel,
      cpuUsPerRequest: cpuUsPerRequest(figures, 'corral'),
      corralW2: {
        label: `corral --workers ${CORRAL_WORKERS}`,
        note: `${times(ratio(workers.reqPerSec, figures.reqPerSec))} corral in one process`,
        ...summary(workers, WORKERS_NAME),
      },
      ratioCorralW2ToOrigin: ratio(workers.reqPerSec, direct.reqPerSec),
      baseline: baselineOf(baseline),
      ratioReqPerSec: ratio(figures.reqPerSec, direct.reqPerSec),
      ratioP99: ratio(figures.p99Ms, direct.p99Ms),
      bareUndici: summary(bareFigures, 'bare-undici'),
      ratioToBareUndici: ratio(figures.reqPerSec, bareFigures.reqPerSec),
      ratioP99ToBareUndici: ratio(figures.p99Ms, bareFigures.p99Ms),
      nginx: nginx ?? 'absent',
      nginxW1: nginxOf(w1, 1),
      nginxW2: nginxOf(w2, 2),
      ratioNginxW1ToOrigin: ratioOf(w1?.reqPerSec, direct.reqPerSec),
      ratioNginxW2ToOrigin: ratioOf(w2?.reqPerSec, direct.reqPerSec),
      ratioToNginxW1: ratioOf(figures.reqPerSec, w1?.reqPerSec),
      ratioToNginxW2: ratioOf(figures.reqPerSec, w2?.reqPerSec),
      ratioP99ToNginxW1: ratioOf(figures.p99Ms, w1?.p99Ms),
      ratioP99ToNginxW2: ratioOf(figures.p99Ms, w2?.p99Ms),
    }
    return report('uncacheable', options, figures, hits, extra, problems)
  } finally {
    await servers.stop()
  }
}

export const uncacheable: Scenario = {
  name: 'uncacheable',
  description: 'GET of a no-store 1 KiB response through corral (1 process, --workers 2) vs the origin alone, a bare undici hop and nginx proxy_pass (1, 2 workers; if installed)',
  run,
  setups: () => (findExecutable('nginx') === undefined ? 4 : 4 + NGINX_WORKERS.length),
}
