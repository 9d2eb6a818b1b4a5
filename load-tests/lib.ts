/**
 * What every load-test scenario shares: starting the stub origin and corral as child processes
 * on free loopback ports, waiting for them, stopping them whatever happens, running autocannon
 * (warm-up, then the measured run) and shaping the one JSON line a scenario prints.
 *
 * The servers are child processes so that autocannon, which runs in this process, never shares
 * an event loop with what it measures.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo } from 'node:net'
import { createHistogram } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const REPO_DIR = fileURLToPath(new URL('..', import.meta.url))
const CORRAL_CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const ORIGIN_SCRIPT = fileURLToPath(new URL('./origin.ts', import.meta.url))
const BARE_PROXY_SCRIPT = fileURLToPath(new URL('./bare-proxy.ts', import.meta.url))

const READY_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 5_000
const REQUEST_TIMEOUT_S = 10
/** Above this much CPU used by others (% of one core) during a measured run, say it is disturbed. */
const BUSY_MACHINE_PCT = 15
/** Linux's USER_HZ: /proc counts CPU time in 1/100 s. */
const CLOCK_TICK_MS = 10

export type LogLevel = 'info' | 'warn'

export interface Options {
  readonly durationS: number
  readonly connections: number
  readonly warmupS: number
  /** corral's log level: `info` (access log on, the default) or `warn` (--quiet-logs). */
  readonly logLevel: LogLevel
  /** Run corral with `node --cpu-prof` and write its profile here. */
  readonly cpuProfDir: string | undefined
}

/** What one autocannon run measured. Latencies are of 2xx responses. */
export interface Figures {
  readonly reqPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  readonly non2xx: number
  /** Responses received during the measured run. */
  readonly requests: number
  /** Length of the measured run: autocannon stops on its 1 s tick, up to 1 s after --duration. */
  readonly durationS: number
  /**
   * CPU used during the measured run, in % of one core: `client` is autocannon (this process),
   * then the servers by name, then `other` (the rest of the machine). Near 100 means that
   * process was the bottleneck. Empty where /proc is not available.
   */
  readonly cpuPct: Readonly<Record<string, number>>
}

/** The JSON line a scenario prints. `problems` is there only when a check failed. */
export interface Report extends Figures {
  readonly scenario: string
  readonly originHits: number
  readonly connections: number
  readonly [extra: string]: unknown
}

export interface Scenario {
  readonly name: string
  readonly description: string
  run(options: Options): Promise<Report>
}

// ---------------------------------------------------------------- child processes

/** Every child still running, so that an error or Ctrl-C can kill them all. */
const running = new Set<ChildProcess>()

/** Last resort, from process 'exit' and signal handlers: no waiting, no mercy. */
export function killAllChildren(): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}

export interface Server {
  readonly name: string
  readonly url: string
  readonly child: ChildProcess
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>
  /** The last few KiB of its stderr, for error messages. */
  stderrTail(): string
}

/**
 * The servers of one scenario. Start them through it, and call stop() in a finally: it stops
 * them in reverse order (corral before its origin), each with SIGTERM, then SIGKILL.
 */
export class Servers {
  private readonly started: Server[] = []

  constructor(private readonly options: Options) {}

  /** The stub origin (also the `direct` baseline): a fixed 1 KiB body with these headers. */
  async origin(config: { cacheControl?: string; delayMs?: number } = {}): Promise<Server> {
    const port = await freePort()
    const args = ['--import', 'tsx', ORIGIN_SCRIPT, '--port', String(port)]
    if (config.cacheControl !== undefined) args.push('--cache-control', config.cacheControl)
    if (config.delayMs !== undefined) args.push('--delay-ms', String(config.delayMs))
    return this.start('origin', args, port)
  }

  /** A bare http-proxy-3 in front of `upstream`: what a pass-through hop costs without corral. */
  async bareProxy(upstream: string): Promise<Server> {
    const port = await freePort()
    return this.start('bare-proxy', ['--import', 'tsx', BARE_PROXY_SCRIPT, '--port', String(port), '--target', upstream], port)
  }

  /** corral from dist/cli.js in front of `upstream`, stdout (the access log) to /dev/null. */
  async corral(upstream: string): Promise<Server> {
    if (!existsSync(CORRAL_CLI)) throw new Error(`${CORRAL_CLI} is missing: run "npm run build" first`)
    const port = await freePort()
    const profile = this.options.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', this.options.cpuProfDir]
    const args = [
      ...profile,
      CORRAL_CLI,
      '--upstream',
      upstream,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--log-level',
      this.options.logLevel,
    ]
    return this.start('corral', args, port)
  }

  async stop(): Promise<void> {
    while (this.started.length > 0) await stopServer(this.started.pop()!)
  }

  private async start(name: string, nodeArgs: string[], port: number): Promise<Server> {
    // stdin is a pipe that closes when this process dies (the origin exits then); stdout goes to
    // /dev/null, so writing the access log costs corral what it costs in production.
    const child = spawn(process.execPath, nodeArgs, { cwd: REPO_DIR, stdio: ['pipe', 'ignore', 'pipe'] })
    running.add(child)
    let tail = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-4096)
    })
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.once('error', () => resolve())
    })
    void exited.then(() => running.delete(child))
    const server: Server = { name, url: `http://127.0.0.1:${port}`, child, exited, stderrTail: () => tail }
    this.started.push(server)
    await waitForPort(server, port)
    return server
  }
}

async function stopServer(server: Server): Promise<void> {
  const { child } = server
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timeout = sleep(STOP_TIMEOUT_MS, 'timeout' as const, { ref: false })
  if ((await Promise.race([server.exited, timeout])) === 'timeout') {
    child.kill('SIGKILL')
    await server.exited
  }
}

/** A port nobody listens on right now: bind port 0, read it, let it go. */
async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', resolve)
  })
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

async function waitForPort(server: Server, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const { child } = server
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${server.name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${server.stderrTail()}`)
    }
    if (await canConnect(port)) return
    if (Date.now() > deadline) {
      throw new Error(`${server.name} did not listen on port ${port} within ${READY_TIMEOUT_MS} ms:\n${server.stderrTail()}`)
    }
    await sleep(50)
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

// ---------------------------------------------------------------- requests

/** The request autocannon repeats. */
export interface Load {
  readonly method?: 'GET' | 'POST'
  readonly body?: string
  readonly headers?: Record<string, string>
}

export const GET: Load = {}

/** Load `url` for options.warmupS, and throw the figures away. */
export async function warmUp(url: string, options: Options, load: Load): Promise<void> {
  if (options.warmupS > 0) await runAutocannon(url, options.warmupS, options.connections, load)
}

/** Load `url` for options.durationS: the measured run. `servers`: whose CPU use to report. */
export async function measure(url: string, options: Options, load: Load, servers: readonly Server[]): Promise<Figures> {
  const before = cpuSnapshot(servers)
  const figures = await runAutocannon(url, options.durationS, options.connections, load)
  const cpuPct = cpuPercent(before, cpuSnapshot(servers))
  if ((cpuPct.other ?? 0) > BUSY_MACHINE_PCT) {
    const warning = `other work used ${cpuPct.other}% of a core during the run on ${url}; its figures are disturbed`
    process.stderr.write(`loadtest: warning: ${warning}\n`)
  }
  return { ...figures, cpuPct }
}

/** CPU time used so far (ms), by this process, each server, and the whole machine. */
interface CpuSnapshot {
  readonly atMs: number
  readonly processes: ReadonlyMap<string, number | undefined>
  readonly machineBusyMs: number | undefined
}

function cpuSnapshot(servers: readonly Server[]): CpuSnapshot {
  const self = process.cpuUsage()
  const processes = new Map<string, number | undefined>([['client', (self.user + self.system) / 1000]])
  for (const server of servers) processes.set(server.name, processCpuMs(server.child.pid))
  return { atMs: performance.now(), processes, machineBusyMs: machineBusyMs() }
}

/**
 * % of one core per process between two snapshots, plus `other`: what the rest of the machine
 * used meanwhile (other programs, and kernel work not charged to a process). A large `other`
 * means the figures are disturbed. Empty where /proc is not available.
 */
function cpuPercent(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const wallMs = after.atMs - before.atMs
  const percent = (cpuMs: number): number => Math.round((cpuMs / wallMs) * 100)
  const result: Record<string, number> = {}
  let oursMs = 0
  for (const [name, afterMs] of after.processes) {
    const beforeMs = before.processes.get(name)
    if (afterMs === undefined || beforeMs === undefined) return {}
    result[name] = percent(afterMs - beforeMs)
    oursMs += afterMs - beforeMs
  }
  if (after.machineBusyMs === undefined || before.machineBusyMs === undefined) return {}
  result.other = Math.max(0, percent(after.machineBusyMs - before.machineBusyMs - oursMs))
  return result
}

/** user + system CPU time of a process, from /proc/<pid>/stat (Linux); undefined elsewhere. */
function processCpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the ")" that closes the command name start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS
  } catch {
    return undefined
  }
}

/** Busy CPU time of all cores together, from the first line of /proc/stat (Linux); undefined elsewhere. */
function machineBusyMs(): number | undefined {
  try {
    // cpu  user nice system idle iowait irq softirq steal …
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    const idle = ticks[3]! + ticks[4]!
    return (ticks.reduce((a, b) => a + b, 0) - idle) * CLOCK_TICK_MS
  } catch {
    return undefined
  }
}

/**
 * One autocannon run. autocannon's own latency histogram has 1 ms resolution, too coarse for
 * sub-millisecond responses, so latencies are recorded here from its 'response' events in µs.
 */
async function runAutocannon(url: string, durationS: number, connections: number, load: Load): Promise<Omit<Figures, 'cpuPct'>> {
  const latencyUs = createHistogram()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: durationS,
        timeout: REQUEST_TIMEOUT_S,
        method: load.method ?? 'GET',
        body: load.body,
        headers: load.headers,
      },
      (err: unknown, res) => (err === null || err === undefined ? resolve(res) : reject(toError(err))),
    )
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode >= 200 && statusCode < 300) latencyUs.record(Math.max(1, Math.round(responseTimeMs * 1000)))
    })
  })
  const received = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx']
  return {
    reqPerSec: round(received / result.duration, 1),
    p50Ms: latencyUs.count === 0 ? 0 : round(latencyUs.percentile(50) / 1000, 3),
    p99Ms: latencyUs.count === 0 ? 0 : round(latencyUs.percentile(99) / 1000, 3),
    errors: result.errors,
    non2xx: result.non2xx,
    requests: received,
    durationS: result.duration,
  }
}

/** One request, outside any load: its status and X-Cache-Status. */
export async function probe(url: string, load: Load = GET): Promise<{ status: number; cacheStatus: string | null }> {
  const res = await fetch(url, { method: load.method ?? 'GET', body: load.body, headers: load.headers })
  await res.arrayBuffer()
  return { status: res.status, cacheStatus: res.headers.get('x-cache-status') }
}

/** How many requests the stub origin has answered since it started. */
export async function originHits(origin: Server): Promise<number> {
  const res = await fetch(`${origin.url}/__hits`)
  const { hits } = (await res.json()) as { hits: number }
  return hits
}

// ---------------------------------------------------------------- report

/** Origin hits during the measured run, and since the origin started (warm-up included). */
export interface Hits {
  readonly run: number
  readonly total: number
}

/** Read the origin's hit count before the measured run; call the result after it. */
export async function countHits(origin: Server): Promise<() => Promise<Hits>> {
  const before = await originHits(origin)
  return async () => {
    const total = await originHits(origin)
    return { run: total - before, total }
  }
}

/** The line a scenario prints: the figures, then `extra`, then `problems` if a check failed. */
export function report(
  scenario: string,
  options: Options,
  figures: Figures,
  hits: Hits,
  extra: Record<string, unknown> = {},
  problems: readonly string[] = [],
): Report {
  return {
    scenario,
    reqPerSec: figures.reqPerSec,
    p50Ms: figures.p50Ms,
    p99Ms: figures.p99Ms,
    errors: figures.errors,
    non2xx: figures.non2xx,
    originHits: hits.run,
    durationS: figures.durationS,
    connections: options.connections,
    requests: figures.requests,
    originHitsTotal: hits.total,
    cpuPct: figures.cpuPct,
    ...extra,
    ...(problems.length > 0 ? { problems } : {}),
  }
}

/**
 * For a key that expires every second: the origin should see about one request per second of
 * run, whatever the load. More than two per second (plus slack) means requests were not coalesced.
 */
export function checkOncePerSecond(hits: Hits, figures: Figures): string[] {
  const limit = Math.ceil(2 * figures.durationS) + 2
  if (hits.run <= limit) return []
  return [`the origin was hit ${hits.run} times in ${figures.durationS} s, expected about once a second (at most ${limit})`]
}

/** The figures of a baseline, as nested in a comparison's line. */
export function baselineOf(r: Report): Record<string, unknown> {
  return {
    scenario: r.scenario,
    reqPerSec: r.reqPerSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors,
    non2xx: r.non2xx,
    requests: r.requests,
    durationS: r.durationS,
    cpuPct: r.cpuPct,
  }
}

/** a / b, to 3 decimals; null when b is 0. */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : round(a / b, 3)
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals
  return Math.round(value * f) / f
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
