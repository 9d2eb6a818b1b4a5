/**
 * hit-nginx: cache hits with workers, against nginx proxy_cache and a bare node:http server, in
 * one run, with wrk (a C client: lighter than autocannon on a 2-core box) and two workloads:
 *
 * - hot: one 1 KiB key, every request the same;
 * - zipf: 10,000 keys of 1 KiB, drawn with a zipf distribution (exponent 1: the hottest key gets
 *   about 10 % of the requests), all stored before the load starts.
 *
 * Setups, each started fresh in front of the same stub origin (`max-age=3600`), measured on both
 * workloads one after the other:
 *
 * | setup | what |
 * | --- | --- |
 * | `nginx` | nginx with proxy_cache, 2 workers (see nginx.ts for its config) |
 * | `corral-w2` | `node dist/cli.js --workers 2`, log level info (the access log on, to /dev/null) |
 * | `bare-w2` | bare node:http, 2 workers (node:cluster), the origin's bytes (bare-cluster.ts) |
 * | `corral-w1` | `node dist/cli.js` (one process) |
 * | `bare-w1` | bare node:http, one process |
 *
 * Targets (issue 10): corral-w2 >= 1.0x nginx on both workloads, p99 no worse; corral-w1 >= 1.0x
 * bare-w1. Reported as ratios (`ratios`), not checked: runs differ by 5-10 % on a shared VM.
 * Checked (`problems`): every cached setup answers the first request MISS and later ones HIT, the
 * origin sees no request during the measured runs, no errors, no non-2xx responses.
 *
 * Needs nginx and wrk (Debian: `apt-get install -y nginx-light wrk`); tells how to install them
 * when they are missing. Environment, for A/B comparisons: LOADTEST_CORRAL_CLI (another build of
 * cli.js), HIT_NGINX_SETUPS (a comma-separated subset of the setups, in the order given),
 * HIT_NGINX_WORKLOADS (`hot`, `zipf` or both, as for the setups), HIT_NGINX_WRK_THREADS (wrk threads,
 * default 1).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { countHits, freePort, report, round, Servers, type Figures, type Options, type Report, type Scenario } from '../lib.js'
import {
  machineBusyMs,
  requireTools,
  runWrk,
  startNginx,
  startTree,
  stopTree,
  treeCpuMs,
  waitForTree,
  type TreeServer,
  type WrkFigures,
  type WrkLoad,
} from '../nginx.js'

const CACHE_CONTROL = 'max-age=3600'
const HOT_PATH = '/hot/1'
const ZIPF = { prefix: '/k/', keys: 10_000, exponent: 1 } as const
const PREFILL_CONCURRENCY = 16
const CORRAL_CLI = process.env.LOADTEST_CORRAL_CLI ?? fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
const BARE_CLUSTER = fileURLToPath(new URL('../bare-cluster.ts', import.meta.url))

const SETUPS = ['nginx', 'corral-w2', 'bare-w2', 'corral-w1', 'bare-w1'] as const
type SetupName = (typeof SETUPS)[number]
const WORKLOADS = ['hot', 'zipf'] as const
type Workload = (typeof WORKLOADS)[number]

const DESCRIPTION: Record<SetupName, string> = {
  nginx: 'nginx proxy_cache, 2 workers',
  'corral-w2': 'corral --workers 2',
  'bare-w2': 'bare node:http, 2 workers',
  'corral-w1': 'corral, 1 process',
  'bare-w1': 'bare node:http, 1 process',
}

interface Row extends WrkFigures {
  /** % of one core during the measured run: `client` (wrk), the setup's process tree, `other`. */
  readonly cpuPct: Record<string, number>
  /** Server CPU per response, µs. */
  readonly serverCpuUsPerReq: number
}

type Measured = Record<Workload, Row>

/** The names an environment variable lists (comma-separated, in its order), or all of them when it is unset. */
function selected<T extends string>(variable: string, all: readonly T[], what: string): readonly T[] {
  const env = process.env[variable]
  if (env === undefined || env === '') return all
  const names = env.split(',').map((s) => s.trim())
  for (const name of names) if (!(all as readonly string[]).includes(name)) throw new Error(`${variable}: unknown ${what} "${name}" (${all.join(', ')})`)
  return names as T[]
}

const selectedSetups = (): readonly SetupName[] => selected('HIT_NGINX_SETUPS', SETUPS, 'setup')
const selectedWorkloads = (): readonly Workload[] => selected('HIT_NGINX_WORKLOADS', WORKLOADS, 'workload')

async function startSetup(name: SetupName, options: Options, dir: string, nginx: string, originUrl: string, originPort: number): Promise<TreeServer> {
  const port = await freePort()
  const workers = name.endsWith('w1') ? 1 : 2
  let server: TreeServer
  if (name === 'nginx') {
    server = startNginx(nginx, dir, { port, upstreamPort: originPort, workers })
    await waitForTree(server, { minProcesses: 1 + workers })
    return server
  }
  if (name.startsWith('corral')) {
    const profile = options.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir]
    const args = [...profile, CORRAL_CLI, '--upstream', originUrl, '--port', String(port), '--host', '127.0.0.1', '--log-level', options.logLevel]
    if (workers > 1) args.push('--workers', String(workers))
    server = startTree(name, process.execPath, args, port, { stdinPipe: true })
  } else {
    const args = ['--import', 'tsx', BARE_CLUSTER, '--port', String(port), '--workers', String(workers), '--cache-control', CACHE_CONTROL]
    server = startTree(name, process.execPath, args, port, { stdinPipe: true })
  }
  await waitForTree(server, { minProcesses: workers > 1 ? 1 + workers : 1 })
  return server
}

/** One request per zipf key, PREFILL_CONCURRENCY at a time, so that every key is stored before the load. */
async function prefill(url: string): Promise<void> {
  const pool = new Pool(url, { connections: PREFILL_CONCURRENCY })
  try {
    let next = 1
    const worker = async (): Promise<void> => {
      while (next <= ZIPF.keys) {
        const k = next++
        const res = await pool.request({ path: `${ZIPF.prefix}${k}`, method: 'GET' })
        await res.body.dump()
        if (res.statusCode !== 200) throw new Error(`prefill ${ZIPF.prefix}${k}: ${res.statusCode}`)
      }
    }
    await Promise.all(Array.from({ length: PREFILL_CONCURRENCY }, worker))
  } finally {
    await pool.close()
  }
}

async function cacheStatusOf(url: string): Promise<string> {
  const res = await fetch(url)
  await res.arrayBuffer()
  return `${res.status} ${res.headers.get('x-cache-status')}`
}

async function measureSetup(
  name: SetupName,
  options: Options,
  tools: { nginx: string; wrk: string },
  dir: string,
  origin: { url: string; port: number; hits: () => Promise<() => Promise<{ run: number }>> },
  problems: string[],
): Promise<Measured> {
  const setupDir = mkdtempSync(join(dir, `${name}-`))
  const server = await startSetup(name, options, setupDir, tools.nginx, origin.url, origin.port)
  const cached = !name.startsWith('bare')
  try {
    if (cached) {
      const first = await cacheStatusOf(`${server.url}${HOT_PATH}`)
      if (first !== '200 MISS') problems.push(`${name}: first request ${first}, expected 200 MISS`)
      await prefill(server.url)
    }
    const rows: Partial<Measured> = {}
    for (const workload of selectedWorkloads()) {
      const load: WrkLoad = {
        url: workload === 'hot' ? `${server.url}${HOT_PATH}` : `${server.url}/`,
        durationS: options.warmupS,
        connections: options.connections,
        threads: Number(process.env.HIT_NGINX_WRK_THREADS ?? '1'),
        ...(workload === 'zipf' ? { zipf: ZIPF } : {}),
      }
      if (options.warmupS > 0) await runWrk(tools.wrk, setupDir, load)
      const hitsAfter = await origin.hits()
      const cpuBefore = treeCpuMs([server]).get(server.name) ?? 0
      const machineBefore = machineBusyMs()
      const selfBefore = process.cpuUsage()
      const t0 = performance.now()
      const figures = await runWrk(tools.wrk, setupDir, { ...load, durationS: options.durationS })
      const wallMs = performance.now() - t0
      const serverMs = (treeCpuMs([server]).get(server.name) ?? 0) - cpuBefore
      const machineAfter = machineBusyMs()
      const self = process.cpuUsage(selfBefore)
      const clientMs = (figures.clientCpuPct / 100) * figures.durationS * 1000
      const otherMs =
        machineAfter === undefined || machineBefore === undefined ? 0 : machineAfter - machineBefore - serverMs - clientMs - (self.user + self.system) / 1000
      const pct = (ms: number): number => Math.round((ms / wallMs) * 100)
      const row: Row = {
        ...figures,
        cpuPct: { client: figures.clientCpuPct, [name]: pct(serverMs), other: Math.max(0, pct(otherMs)) },
        serverCpuUsPerReq: round((serverMs * 1000) / Math.max(1, figures.requests), 2),
      }
      rows[workload] = row
      const originRequests = (await hitsAfter()).run
      if (cached && originRequests > 0) problems.push(`${name} ${workload}: the origin was asked ${originRequests} times during the measured run, expected 0`)
      if (row.errors > 0 || row.non2xx > 0) problems.push(`${name} ${workload}: ${row.errors} errors, ${row.non2xx} non-2xx responses`)
      if (row.cpuPct.other! > 15) process.stderr.write(`loadtest: warning: other work used ${row.cpuPct.other}% of a core during ${name} ${workload}; its figures are disturbed\n`)
    }
    if (cached) {
      for (const path of [HOT_PATH, `${ZIPF.prefix}1`, `${ZIPF.prefix}${ZIPF.keys}`]) {
        const last = await cacheStatusOf(`${server.url}${path}`)
        if (last !== '200 HIT') problems.push(`${name}: ${path} after the run: ${last}, expected 200 HIT`)
      }
    }
    return rows as Measured
  } finally {
    await stopTree(server)
  }
}

function figuresOf(row: Row): Figures {
  return {
    reqPerSec: row.reqPerSec,
    p50Ms: row.p50Ms,
    p99Ms: row.p99Ms,
    errors: row.errors,
    non2xx: row.non2xx,
    requests: row.requests,
    durationS: row.durationS,
    cpuPct: row.cpuPct,
  }
}

function ratio(a: Row | undefined, b: Row | undefined, field: 'reqPerSec' | 'p99Ms'): number | null {
  if (a === undefined || b === undefined || b[field] === 0) return null
  return round(a[field] / b[field], 3)
}

function summary(results: Partial<Record<SetupName, Measured>>, ratios: Record<Workload, Record<string, number | null>>): string {
  const lines = [`hit-nginx: ${'workload/setup'.padEnd(34)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}  server µs/req  wrk cpu%`]
  for (const workload of selectedWorkloads()) {
    for (const setup of SETUPS) {
      const row = results[setup]?.[workload]
      if (row === undefined) continue
      lines.push(
        `hit-nginx: ${`${workload} ${DESCRIPTION[setup]}`.padEnd(34)} ${Math.round(row.reqPerSec).toLocaleString('en-US').padStart(9)} ${row.p50Ms.toFixed(2).padStart(7)} ${row.p99Ms.toFixed(2).padStart(7)}  ${row.serverCpuUsPerReq.toFixed(1).padStart(13)}  ${String(row.clientCpuPct).padStart(8)}`,
      )
    }
    const r = ratios[workload]
    const x = (v: number | null | undefined): string => (typeof v === 'number' ? `${v.toFixed(2)}×` : '–')
    lines.push(
      `hit-nginx: ${workload}: corral-w2/nginx ${x(r.corralW2ToNginx)} req/s, ${x(r.corralW2P99ToNginx)} p99; corral-w2/bare-w2 ${x(r.corralW2ToBareW2)}; corral-w1/bare-w1 ${x(r.corralW1ToBareW1)} req/s, ${x(r.corralW1P99ToBareW1)} p99`,
    )
  }
  return `${lines.join('\n')}\n`
}

async function run(options: Options): Promise<Report> {
  const tools = requireTools()
  const dir = mkdtempSync(join(tmpdir(), 'corral-hit-nginx-'))
  // nginx's workers run as an unprivileged user when the runner is root: they must reach the cache in it.
  chmodSync(dir, 0o755)
  const servers = new Servers(options)
  const problems: string[] = []
  const results: Partial<Record<SetupName, Measured>> = {}
  try {
    const origin = await servers.origin({ cacheControl: CACHE_CONTROL })
    const originRef = { url: origin.url, port: origin.port, hits: () => countHits(origin) }
    for (const setup of selectedSetups()) results[setup] = await measureSetup(setup, options, tools, dir, originRef, problems)
  } finally {
    await servers.stop()
    rmSync(dir, { recursive: true, force: true })
  }

  const ratios = {} as Record<Workload, Record<string, number | null>>
  for (const w of WORKLOADS) {
    const row = (s: SetupName): Row | undefined => results[s]?.[w]
    ratios[w] = {
      corralW2ToNginx: ratio(row('corral-w2'), row('nginx'), 'reqPerSec'),
      corralW2P99ToNginx: ratio(row('corral-w2'), row('nginx'), 'p99Ms'),
      corralW2ToBareW2: ratio(row('corral-w2'), row('bare-w2'), 'reqPerSec'),
      corralW2P99ToBareW2: ratio(row('corral-w2'), row('bare-w2'), 'p99Ms'),
      corralW1ToBareW1: ratio(row('corral-w1'), row('bare-w1'), 'reqPerSec'),
      corralW1P99ToBareW1: ratio(row('corral-w1'), row('bare-w1'), 'p99Ms'),
    }
  }
  process.stderr.write(summary(results, ratios))

  // The table's row: corral --workers 2 on the first workload measured, against nginx (or whatever was measured).
  const w = selectedWorkloads()[0] as Workload
  const main = results['corral-w2'] ?? results['corral-w1'] ?? Object.values(results)[0]
  const base = results.nginx ?? results['bare-w2'] ?? results['bare-w1']
  if (main === undefined) throw new Error('hit-nginx: no setup measured')
  const extra = {
    logLevel: options.logLevel,
    tool: `wrk -t${process.env.HIT_NGINX_WRK_THREADS ?? '1'} -c${options.connections}`,
    zipf: ZIPF,
    results,
    ratios,
    ...(base === undefined
      ? {}
      : {
          baseline: { scenario: base === results.nginx ? 'nginx (2 workers)' : 'bare node', ...figuresOf(base[w]) },
          ratioReqPerSec: ratio(main[w], base[w], 'reqPerSec'),
          ratioP99: ratio(main[w], base[w], 'p99Ms'),
        }),
  }
  return report('hit-nginx', options, figuresOf(main[w]), { run: 0, total: 0 }, extra, problems)
}

export const hitNginx: Scenario = {
  name: 'hit-nginx',
  description: 'hits (1 hot key, 10k zipf keys) with wrk: corral --workers 2 vs nginx proxy_cache (2 workers) vs bare node (needs nginx, wrk)',
  run,
  setups: () => 2 * selectedSetups().length + 2,
}
