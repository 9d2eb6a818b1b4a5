/**
 * What every load-test scenario shares: starting the stub origin, corral (one or several
 * instances) and a private redis-server as child processes on free loopback ports, waiting for
 * them, stopping them whatever happens, running autocannon (warm-up, then the measured run) and
 * shaping the one JSON line a scenario prints.
 *
 * The servers are child processes so that autocannon, which runs in this process, never shares
 * an event loop with what it measures.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { connect, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHistogram } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { request } from 'undici'
import { stringify as toYaml } from 'yaml'

const REPO_DIR = fileURLToPath(new URL('..', import.meta.url))
const CORRAL_CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const ORIGIN_SCRIPT = fileURLToPath(new URL('./origin.ts', import.meta.url))
const BARE_PROXY_SCRIPT = fileURLToPath(new URL('./bare-proxy.ts', import.meta.url))
const BARE_REDIS_SCRIPT = fileURLToPath(new URL('./bare-redis.ts', import.meta.url))

const READY_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 5_000
const REQUEST_TIMEOUT_S = 10
/** Longest wait for one request outside autocannon (probes, the fleet-stampede crowd). */
export const REQUEST_TIMEOUT_MS = REQUEST_TIMEOUT_S * 1000
/** How long a probe's record may take to show up in Redis (corral may store it after answering). */
const STORED_WITHIN_MS = 1_000
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
  /** --redis: `hit` also measures corral in fleet mode (a private redis-server, L1 on). */
  readonly redis: boolean
  /** --instances: fleet-stampede's corral instances, sharing one redis-server. */
  readonly instances: number
  /** --crowd: fleet-stampede's concurrent requests per round. */
  readonly crowd: number
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
  /** With Load.tally: how many responses had each value of that header ('' when absent). */
  readonly tally?: Readonly<Record<string, number>>
}

/**
 * The JSON line a scenario prints. `problems` is there only when a check failed.
 *
 * The table (table.ts) shows a row for the scenario, then one for each field holding the figures
 * of another setup measured in the same run (an object with `reqPerSec` or `p99Ms`): `baseline`
 * (or `floor`) is what the ratios divide by; any other (`bareProxy`, `redis`, …) is shown too, named
 * by its `label` if it has one, with its `note` (a string) after its ratios.
 */
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
  /**
   * How many setups it warms up and measures, for the runner's time budget (2 when left out:
   * a baseline and corral).
   */
  setups?(options: Options): number
}

// ---------------------------------------------------------------- child processes

/** Every child still running, so that an error or Ctrl-C can kill them all. */
const running = new Set<ChildProcess>()
/** Temporary directories (generated corral configs, redis-server's dir) not yet removed. */
const tempDirs = new Set<string>()

/** Last resort, from process 'exit' and signal handlers: no waiting, no mercy. Also removes the temporary directories. */
export function killAllChildren(): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

export interface Server {
  readonly name: string
  /** http://127.0.0.1:port, or redis://127.0.0.1:port for a redis-server. */
  readonly url: string
  readonly port: number
  readonly child: ChildProcess
  /** Resolves when the process has exited (or could not be started). */
  readonly exited: Promise<void>
  hasExited(): boolean
  /** The last few KiB of its stderr (and of its stdout for redis-server), for error messages. */
  stderrTail(): string
}

/** How the stub origin answers (origin.ts). Left out: a 1 KiB body at once, with Content-Length. */
export interface OriginSetup {
  readonly cacheControl?: string
  readonly delayMs?: number
  readonly bodyBytes?: number
  /** Write the body in this many parts, the first with the head… */
  readonly chunks?: number
  /** … the others this many ms apart. */
  readonly chunkIntervalMs?: number
  /** No Content-Length: the body is sent chunked. */
  readonly noLength?: boolean
}

/** How to run one corral instance. Left out: quick mode (`--upstream` only), named `corral`. */
export interface CorralSetup {
  /** Its name in `cpuPct` and in error messages, e.g. `corral-2`. */
  readonly name?: string
  /** More command-line arguments, e.g. `['--redis', redis.url]`. */
  readonly args?: readonly string[]
  /**
   * A configuration, written to a YAML file and passed with `--config`. Its upstream `default`
   * is the `upstream` given (added here); `--port`, `--host` and `--log-level` still come from
   * the command line.
   */
  readonly config?: Readonly<Record<string, unknown>>
}

/**
 * The servers of one scenario. Start them through it, and call stop() in a finally: it stops
 * them in reverse order (corral before its origin and its redis-server), each with SIGTERM,
 * then SIGKILL.
 */
export class Servers {
  private readonly started: Server[] = []
  private dir: string | undefined

  constructor(private readonly options: Options) {}

  /**
   * The stub origin (also the `direct` baseline): a fixed body (1 KiB unless `bodyBytes`) with
   * these headers; `chunks`, `chunkIntervalMs`, `noLength`: a slow body (see origin.ts).
   */
  async origin(config: OriginSetup = {}): Promise<Server> {
    const port = await freePort()
    const args = ['--import', 'tsx', ORIGIN_SCRIPT, '--port', String(port)]
    if (config.cacheControl !== undefined) args.push('--cache-control', config.cacheControl)
    if (config.delayMs !== undefined) args.push('--delay-ms', String(config.delayMs))
    if (config.bodyBytes !== undefined) args.push('--body-bytes', String(config.bodyBytes))
    if (config.chunks !== undefined) args.push('--chunks', String(config.chunks))
    if (config.chunkIntervalMs !== undefined) args.push('--chunk-interval-ms', String(config.chunkIntervalMs))
    if (config.noLength === true) args.push('--no-length')
    return this.startNode('origin', args, port)
  }

  /** A bare http-proxy-3 in front of `upstream`: what a pass-through hop costs without corral. */
  async bareProxy(upstream: string): Promise<Server> {
    const port = await freePort()
    return this.startNode('bare-proxy', ['--import', 'tsx', BARE_PROXY_SCRIPT, '--port', String(port), '--target', upstream], port)
  }

  /** A bare node:http server answering every request with one Redis GET (bare-redis.ts). */
  async bareRedis(redisUrl: string): Promise<Server> {
    const port = await freePort()
    return this.startNode('bare-redis', ['--import', 'tsx', BARE_REDIS_SCRIPT, '--port', String(port), '--redis', redisUrl], port)
  }

  /** corral from dist/cli.js in front of `upstream`, stdout (the access log) to /dev/null. */
  async corral(upstream: string, setup: CorralSetup = {}): Promise<Server> {
    if (!existsSync(CORRAL_CLI)) throw new Error(`${CORRAL_CLI} is missing: run "npm run build" first`)
    const port = await freePort()
    const profile = this.options.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', this.options.cpuProfDir]
    const name = setup.name ?? 'corral'
    const config = setup.config === undefined ? [] : ['--config', this.writeConfig(name, upstream, setup.config)]
    const args = [
      ...profile,
      CORRAL_CLI,
      ...config,
      '--upstream',
      upstream,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--log-level',
      this.options.logLevel,
      // Several corrals run at once (fleet scenarios, baselines): none takes the admin port 9090.
      '--admin-port',
      '0',
      ...(setup.args ?? []),
    ]
    return this.startNode(name, args, port)
  }

  /**
   * A private redis-server on a free port of 127.0.0.1: nothing saved, no append-only file,
   * its working directory a temporary one. Never the shared Redis on 6379. Ready once it
   * answers PING (and the answer comes from this very process).
   */
  async redis(): Promise<Server> {
    const port = await freePort()
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.tempDir()]
    const server = this.spawn('redis', 'redis-server', args, port, `redis://127.0.0.1:${port}`)
    await waitForRedis(server)
    return server
  }

  async stop(): Promise<void> {
    while (this.started.length > 0) await stopServer(this.started.pop()!)
    if (this.dir !== undefined) {
      rmSync(this.dir, { recursive: true, force: true })
      tempDirs.delete(this.dir)
      this.dir = undefined
    }
  }

  private tempDir(): string {
    if (this.dir === undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'corral-loadtest-'))
      tempDirs.add(this.dir)
    }
    return this.dir
  }

  private writeConfig(name: string, upstream: string, config: Readonly<Record<string, unknown>>): string {
    const path = join(this.tempDir(), `${name}.yaml`)
    writeFileSync(path, toYaml({ upstreams: { default: { url: upstream } }, ...config }))
    return path
  }

  private async startNode(name: string, nodeArgs: string[], port: number): Promise<Server> {
    const server = this.spawn(name, process.execPath, nodeArgs, port, `http://127.0.0.1:${port}`)
    await waitForPort(server, port)
    return server
  }

  private spawn(name: string, command: string, args: string[], port: number, url: string): Server {
    // node children: stdin is a pipe that closes when this process dies (the origin exits then);
    // stdout goes to /dev/null, so writing the access log costs corral what it costs in
    // production. redis-server logs to stdout: kept, with stderr, for error messages.
    const isNode = command === process.execPath
    const child = spawn(command, args, { cwd: REPO_DIR, stdio: [isNode ? 'pipe' : 'ignore', isNode ? 'ignore' : 'pipe', 'pipe'] })
    running.add(child)
    let tail = ''
    const keep = (chunk: string): void => {
      tail = (tail + chunk).slice(-4096)
    }
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', keep)
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', keep)
    let done = false
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      // A failed spawn (redis-server not on the PATH) emits 'error' and never 'exit'.
      child.once('error', (err) => {
        keep(`\n${command}: ${err.message}\n`)
        resolve()
      })
    })
    void exited.then(() => {
      done = true
      running.delete(child)
    })
    const server: Server = { name, url, port, child, exited, hasExited: () => done, stderrTail: () => tail }
    this.started.push(server)
    return server
  }
}

async function stopServer(server: Server): Promise<void> {
  const { child } = server
  if (server.hasExited() || child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timeout = sleep(STOP_TIMEOUT_MS, 'timeout' as const, { ref: false })
  if ((await Promise.race([server.exited, timeout])) === 'timeout') {
    child.kill('SIGKILL')
    await server.exited
  }
}

/** A port nobody listens on right now: bind port 0, read it, let it go. */
export async function freePort(): Promise<number> {
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
    if (server.hasExited() || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${server.name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${server.stderrTail()}`)
    }
    if (await canConnect(port)) return
    if (Date.now() > deadline) {
      throw new Error(`${server.name} did not listen on port ${port} within ${READY_TIMEOUT_MS} ms:\n${server.stderrTail()}`)
    }
    await sleep(50)
  }
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

// ---------------------------------------------------------------- redis-server

/**
 * Waits until the redis-server answers PING, and checks that the answer came from this very
 * process: another Redis may have taken the probed port in between (ours then exits).
 */
async function waitForRedis(server: Server): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (server.hasExited()) {
      const hint = server.stderrTail().includes('ENOENT') ? ' (is redis-server, Redis 7, on the PATH?)' : ''
      throw new Error(`redis-server exited before answering PING${hint}:\n${server.stderrTail()}`)
    }
    const pong = await redisCommand(server, ['PING']).catch(() => '')
    if (pong === 'PONG') break
    if (Date.now() > deadline) {
      throw new Error(`redis-server did not answer PING on port ${server.port} within ${READY_TIMEOUT_MS} ms:\n${server.stderrTail()}`)
    }
    await sleep(50)
  }
  const info = await redisCommand(server, ['INFO', 'server'])
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1])
  if (pid !== server.child.pid) throw new Error(`port ${server.port} is served by another Redis (pid ${pid}), not the one just started`)
}

/**
 * One command to a redis-server over a fresh connection, its reply as text (simple strings,
 * integers and bulk strings: enough for PING, INFO and DBSIZE). Rejects on an error reply.
 */
export function redisCommand(server: Server, args: readonly string[], timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1')
    let buffer = Buffer.alloc(0)
    const finish = (err: Error | undefined, reply = ''): void => {
      socket.destroy()
      if (err === undefined) resolve(reply)
      else reject(err)
    }
    socket.setTimeout(timeoutMs, () => finish(new Error(`redis ${args[0]}: no reply within ${timeoutMs} ms`)))
    socket.once('error', (err) => finish(err))
    socket.once('close', () => finish(new Error(`redis ${args[0]}: connection closed before a reply`)))
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      const end = buffer.indexOf('\r\n')
      if (end === -1) return
      const type = String.fromCharCode(buffer[0]!)
      const line = buffer.subarray(1, end).toString()
      if (type === '+' || type === ':') return finish(undefined, line)
      if (type === '-') return finish(new Error(`redis ${args.join(' ')}: ${line}`))
      if (type !== '$') return finish(new Error(`redis ${args[0]}: unexpected reply ${JSON.stringify(type)}`))
      const length = Number(line)
      if (length < 0) return finish(undefined, '')
      if (buffer.length >= end + 2 + length + 2) finish(undefined, buffer.subarray(end + 2, end + 2 + length).toString())
    })
    socket.once('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`)
    })
  })
}

/** How many keys the redis-server holds. */
export async function redisKeys(redis: Server): Promise<number> {
  return Number(await redisCommand(redis, ['DBSIZE']))
}

/** Zero the redis-server's command counts (CONFIG RESETSTAT): before redisCommandCounts. */
export async function resetRedisStats(redis: Server): Promise<void> {
  await redisCommand(redis, ['CONFIG', 'RESETSTAT'])
}

/**
 * Commands the redis-server processed since it started or since resetRedisStats, by name (from
 * INFO commandstats: `get`, `evalsha`, `ssubscribe`, …), without this runner's own CONFIG and INFO.
 */
export async function redisCommandCounts(redis: Server): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const match of (await redisCommand(redis, ['INFO', 'commandstats'])).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const name = match[1]!
    if (name === 'info' || name.startsWith('config')) continue
    counts[name] = Number(match[2])
  }
  return counts
}

/**
 * Waits until `corral` stores what it fetches in `redis`. corral connects to Redis in the
 * background once it listens, and until then serves from memory alone (fleet mode fails open),
 * which would measure the wrong thing. So: request fresh paths (`/__loadtest-ready/<n>`, each
 * one origin request) until one leaves a record in the redis-server (DBSIZE grows).
 * `headers`: e.g. the fleet's shared Host.
 */
export async function waitForRedisWrites(corral: Server, redis: Server, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (let attempt = 1; ; attempt++) {
    const before = await redisKeys(redis)
    const res = await request(`${corral.url}/__loadtest-ready/${attempt}`, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    await res.body.dump()
    if (res.statusCode !== 200) throw new Error(`${corral.name}: readiness probe answered ${res.statusCode}:\n${corral.stderrTail()}`)
    const storedBy = Date.now() + STORED_WITHIN_MS
    while (Date.now() < storedBy) {
      if ((await redisKeys(redis)) > before) return
      await sleep(20)
    }
    if (Date.now() > deadline) {
      throw new Error(`${corral.name} stored nothing in redis at ${redis.url} within ${READY_TIMEOUT_MS} ms:\n${corral.stderrTail()}`)
    }
  }
}

// ---------------------------------------------------------------- requests

/** The request autocannon repeats. */
export interface Load {
  readonly method?: 'GET' | 'POST'
  readonly body?: string
  readonly headers?: Record<string, string>
  /** A response header (lower case) whose values to count, e.g. `x-cache-status`: Figures.tally. */
  readonly tally?: string
}

export const GET: Load = {}

/** Load `url` for options.warmupS, and throw the figures away. */
export async function warmUp(url: string, options: Options, load: Load): Promise<void> {
  if (options.warmupS > 0) await runAutocannon(url, options.warmupS, options.connections, load)
}

/**
 * Load `url` for options.durationS: the measured run. `servers`: whose CPU use to report. The run
 * is also recorded, with its per-second throughput and latency distribution, for the HTML
 * report (takeRecordedRuns); with the stub origin among `servers`, its requests during the run too.
 */
export async function measure(url: string, options: Options, load: Load, servers: readonly Server[]): Promise<Figures> {
  const origin = servers.find((s) => s.name === 'origin')
  // Not a stub origin after all (no /__hits): no count, no failure.
  const hitsOf = async (server: Server): Promise<number | undefined> => originHits(server).catch(() => undefined)
  const hitsBefore = origin === undefined ? undefined : await hitsOf(origin)
  const cpu = cpuMeter(servers, url)
  const { series, ...measured } = await runAutocannon(url, options.durationS, options.connections, load)
  const figures: Figures = { ...measured, cpuPct: cpu() }
  const hitsAfter = origin === undefined || hitsBefore === undefined ? undefined : await hitsOf(origin)
  const hitsDuring = hitsBefore === undefined || hitsAfter === undefined ? undefined : hitsAfter - hitsBefore
  recordRun({
    url,
    method: load.method ?? 'GET',
    target: servers.find((s) => url.startsWith(`${s.url}/`) || url === s.url)?.name ?? servers[0]?.name ?? url,
    servers: servers.map((s) => s.name),
    figures,
    ...(hitsDuring === undefined ? {} : { originHits: hitsDuring }),
    ...series,
  })
  return figures
}

// ---------------------------------------------------------------- recorded runs (the HTML report)

/** Latency buckets per power of ten: bucket i holds [10^(i/10), 10^((i+1)/10)) µs. */
export const LATENCY_BUCKETS_PER_DECADE = 10
/** Percentiles kept of every run, for the report. */
const REPORTED_PERCENTILES = [50, 75, 90, 99, 99.9, 100] as const

/** The distribution of a run's 2xx latencies, in ms. */
export interface LatencyDistribution {
  /** 2xx responses whose latency was recorded: the sum of the histogram's counts. */
  readonly count: number
  readonly minMs: number
  readonly meanMs: number
  readonly maxMs: number
  /** p50, p75, p90, p99, p99.9 and p100 (the maximum). */
  readonly percentiles: ReadonlyArray<{ readonly p: number; readonly ms: number }>
  /**
   * Counts in logarithmic buckets (LATENCY_BUCKETS_PER_DECADE per power of ten), contiguous from
   * the fastest bucket with a response to the slowest: empty ones in between are kept (count 0).
   */
  readonly histogram: ReadonlyArray<{ readonly fromMs: number; readonly toMs: number; readonly count: number }>
}

/** What a run's charts are drawn from. */
export interface RunSeries {
  /**
   * Responses received (any status) in each second of the measured run: Math.round(durationS)
   * entries, the last also holding the few answered after its end, before autocannon stopped.
   * They add up to `requests`.
   */
  readonly perSecond: readonly number[]
  /** Connection errors and timeouts in each second, same length. */
  readonly errorsPerSecond: readonly number[]
  readonly latency: LatencyDistribution
}

/** One measured run, as recorded for the HTML report. */
export interface RunRecord extends RunSeries {
  /** 1, 2, … in the order they were measured, within a scenario. */
  readonly run: number
  readonly url: string
  readonly method: string
  /** The server that was loaded (its name as in cpuPct: `origin`, `corral`, `bare-proxy`, …). */
  readonly target: string
  /** Every server whose CPU use was measured. */
  readonly servers: readonly string[]
  readonly figures: Figures
  /** Requests the stub origin answered during the run, when it was among the servers. */
  readonly originHits?: number
}

const recorded: RunRecord[] = []

/**
 * Record a measured run for the HTML report. measure() does it for every autocannon run; a
 * scenario measuring with its own client can call it with what it has (a LatencyRecorder helps).
 */
export function recordRun(run: Omit<RunRecord, 'run'>): void {
  recorded.push({ run: recorded.length + 1, ...run })
}

/** The runs recorded since the last call (the runner calls it after each scenario), in order. */
export function takeRecordedRuns(): RunRecord[] {
  return recorded.splice(0, recorded.length)
}

/**
 * Collects what a run's charts need, response by response: per-second counts and a latency
 * histogram (µs, node:perf_hooks, for the percentiles; log buckets for the chart). Cheap enough
 * for every response of a run at 100k req/s (a clock read and a log10 each).
 */
export class LatencyRecorder {
  readonly histogram = createHistogram()
  private readonly started = performance.now()
  private readonly perSecond: number[] = []
  private readonly errorsPerSecond: number[] = []
  private readonly buckets: number[] = []

  /** A response arrived; `ms` is given for 2xx responses only (the latencies reported). */
  response(ms?: number): void {
    const second = Math.floor((performance.now() - this.started) / 1000)
    this.perSecond[second] = (this.perSecond[second] ?? 0) + 1
    if (ms === undefined) return
    const us = Math.max(1, Math.round(ms * 1000))
    this.histogram.record(us)
    const bucket = Math.floor(Math.log10(us) * LATENCY_BUCKETS_PER_DECADE)
    this.buckets[bucket] = (this.buckets[bucket] ?? 0) + 1
  }

  /** A request failed (connection error, timeout). */
  error(): void {
    const second = Math.floor((performance.now() - this.started) / 1000)
    this.errorsPerSecond[second] = (this.errorsPerSecond[second] ?? 0) + 1
  }

  /** The series of a run that lasted `durationS` seconds. */
  series(durationS: number): RunSeries {
    const seconds = Math.max(1, Math.round(durationS))
    const fold = (values: readonly (number | undefined)[]): number[] => {
      const out = new Array<number>(seconds).fill(0)
      values.forEach((n, i) => {
        out[Math.min(i, seconds - 1)]! += n ?? 0
      })
      return out
    }
    const h = this.histogram
    const first = this.buckets.findIndex((n) => n !== undefined)
    const histogram = []
    if (first !== -1) {
      for (let i = first; i < this.buckets.length; i++) {
        histogram.push({ fromMs: bucketEdgeMs(i), toMs: bucketEdgeMs(i + 1), count: this.buckets[i] ?? 0 })
      }
    }
    const ms = (us: number): number => round(us / 1000, 3)
    return {
      perSecond: fold(this.perSecond),
      errorsPerSecond: fold(this.errorsPerSecond),
      latency: {
        count: h.count,
        minMs: h.count === 0 ? 0 : ms(h.min),
        meanMs: h.count === 0 ? 0 : ms(h.mean),
        maxMs: h.count === 0 ? 0 : ms(h.max),
        percentiles: REPORTED_PERCENTILES.map((p) => ({ p, ms: h.count === 0 ? 0 : ms(h.percentile(p)) })),
        histogram,
      },
    }
  }
}

/** The lower edge of latency bucket i, in ms (4 significant digits). */
function bucketEdgeMs(i: number): number {
  return Number((10 ** (i / LATENCY_BUCKETS_PER_DECADE) / 1000).toPrecision(4))
}

/**
 * Starts measuring the CPU used by this process (`client`) and `servers`; the function it
 * returns gives the % of one core each used since, and `other` (see cpuPercent). Warns on
 * stderr when other work disturbed the measurement of `what`.
 */
export function cpuMeter(servers: readonly Server[], what: string): () => Record<string, number> {
  const before = cpuSnapshot(servers)
  return () => {
    const cpuPct = cpuPercent(before, cpuSnapshot(servers))
    if ((cpuPct.other ?? 0) > BUSY_MACHINE_PCT) {
      const warning = `other work used ${cpuPct.other}% of a core during the run on ${what}; its figures are disturbed`
      process.stderr.write(`loadtest: warning: ${warning}\n`)
    }
    return cpuPct
  }
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
async function runAutocannon(
  url: string,
  durationS: number,
  connections: number,
  load: Load,
): Promise<Omit<Figures, 'cpuPct'> & { series: RunSeries }> {
  const recorder = new LatencyRecorder()
  const latencyUs = recorder.histogram
  const tally = load.tally === undefined ? undefined : { header: load.tally, counts: new Map<string, number>() }
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
        ...(tally === undefined ? {} : { setupClient: tallyHeader(tally.header, tally.counts) }),
      },
      (err: unknown, res) => (err === null || err === undefined ? resolve(res) : reject(toError(err))),
    )
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      recorder.response(statusCode >= 200 && statusCode < 300 ? responseTimeMs : undefined)
    })
    instance.on('reqError', () => recorder.error())
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
    ...(tally === undefined ? {} : { tally: Object.fromEntries(tally.counts) }),
    series: recorder.series(result.duration),
  }
}

/**
 * An autocannon setupClient that counts the values of one response header. Its 'headers' event
 * carries the parser's record, `{ headers: [name, value, name, value, …], statusCode, … }`
 * (not the IncomingHttpHeaders its type declares).
 */
function tallyHeader(name: string, tally: Map<string, number>): (client: autocannon.Client) => void {
  return (client) => {
    client.on('headers', (info: IncomingHttpHeaders) => {
      const raw = (info as unknown as { headers?: unknown }).headers
      let value = ''
      if (Array.isArray(raw)) {
        for (let i = 0; i + 1 < raw.length; i += 2) {
          if (String(raw[i]).toLowerCase() === name) {
            value = String(raw[i + 1])
            break
          }
        }
      }
      tally.set(value, (tally.get(value) ?? 0) + 1)
    })
  }
}

/** One request, outside any load: its status and X-Cache-Status. (fetch: a Host header is ignored.) */
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
    originHits: r.originHits,
    requests: r.requests,
    durationS: r.durationS,
    cpuPct: r.cpuPct,
  }
}

/** a / b, to 3 decimals; null when b is 0. */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : round(a / b, 3)
}

/** `value` rounded to `decimals` decimals. */
export function round(value: number, decimals: number): number {
  const f = 10 ** decimals
  return Math.round(value * f) / f
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/** Exact percentile (nearest rank) of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/** Latencies of the 2xx answers of a crowd, in ms to 3 decimals: p50, p99, max. */
export function crowdLatency(samples: ReadonlyArray<{ readonly ms: number; readonly status: number; readonly error?: string }>): { p50Ms: number; p99Ms: number; maxMs: number } {
  const ms = samples
    .filter((s) => s.error === undefined && s.status >= 200 && s.status < 300)
    .map((s) => s.ms)
    .sort((a, b) => a - b)
  return { p50Ms: round(percentile(ms, 50), 3), p99Ms: round(percentile(ms, 99), 3), maxMs: round(ms.at(-1) ?? 0, 3) }
}
