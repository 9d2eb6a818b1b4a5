/**
 * stream-fill: streaming to waiters. The origin sends a storable (`max-age=3600`) 1 MiB body
 * without Content-Length, in 20 parts 50 ms apart (the first with the head: 950 ms from the first
 * byte to the last). Each round, a crowd of min(--crowd, 200) requests for one cold key — a new
 * path every round — is sent at once on connections opened beforehand (an undici Client per
 * request, opened by the warm-up rounds), every request timed from its own send to its first body
 * byte (TTFB) and to its last, its body counted.
 *
 * Measured three times, each with its own crowd: the origin directly (every request gets a slow
 * body of its own: the TTFB floor of this client and machine), one corral process, and corral
 * `--workers 2` (no Redis: the followers on the other worker get the body through the primary).
 * Streaming to waiters means the followers' first byte comes about when the leader's does, not
 * when the body has been read and stored (≈ 950 ms later): `ttfbP99OverBody` (the followers'
 * TTFB p99 ÷ the body's 950 ms) should be well below 1; target < 0.3, a `problems` entry at 0.5 or
 * more. Also checked: one origin request per round, every body 1 MiB, no failed or non-2xx request,
 * the last round's path a HIT afterwards, and with workers that both workers held connections of
 * the crowd (from /proc: which worker holds each connection), so that the followers on the other
 * worker than the leader's — reported apart — were measured too.
 *
 * The crowd is capped at 200 so that a round does not push 1 GiB through the loopback (each
 * request gets the whole MiB).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildConnector, Client } from 'undici'
import { originHits, percentile, ratio, report, REQUEST_TIMEOUT_MS, round, Servers, type Options, type Report, type Scenario, type Server } from '../lib.js'
import { machineBusyMs, treeCpuMs } from '../nginx.js'

const CACHE_CONTROL = 'max-age=3600'
const BODY_BYTES = 1024 * 1024
const CHUNKS = 20
const CHUNK_INTERVAL_MS = 50
/** From the first part (sent with the head) to the last. */
const BODY_MS = (CHUNKS - 1) * CHUNK_INTERVAL_MS
/** The crowd of this scenario: at most this many (each request gets the whole MiB). */
const MAX_CROWD = 200
const WORKERS = 2
/** Followers' TTFB p99 ÷ BODY_MS: the aim, and the level that is a `problems` entry. */
const TARGET_TTFB_OVER_BODY = 0.3
const PROBLEM_TTFB_OVER_BODY = 0.5
/** Warm-up rounds per setup: at least this many (the first opens the connections), more until --warmup s have passed. */
const MIN_WARM_UP_ROUNDS = 2
/** Measured rounds per setup: as many as fit in --duration, within these bounds. */
const MIN_ROUNDS = 3
const MAX_ROUNDS = 30
/** Between rounds: the last responses' access-log lines written, the entry settled. */
const PAUSE_MS = 100
const READY_TIMEOUT_MS = 15_000

/** One request of a crowd. `error` set: it failed (connection, timeout, or a body of the wrong length). */
interface Sample {
  readonly round: number
  /** Which connection of the crowd it was sent on. */
  readonly client: number
  /** Send to the first body byte, and to the end of the body. */
  readonly ttfbMs: number
  readonly totalMs: number
  readonly status: number
  readonly cacheStatus: string
  /** Its Cache-Status says `collapsed`: it was served another request's fetch. */
  readonly collapsed: boolean
  readonly error?: string
}

async function send(client: Client, index: number, path: string, roundNo: number): Promise<Sample> {
  const start = performance.now()
  let ttfbMs: number | undefined
  let bytes = 0
  try {
    const res = await client.request({ method: 'GET', path, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    await new Promise<void>((resolve, reject) => {
      res.body.on('data', (chunk: Buffer) => {
        ttfbMs ??= performance.now() - start
        bytes += chunk.length
      })
      res.body.once('end', resolve)
      res.body.once('error', reject)
    })
    const totalMs = performance.now() - start
    const sample = {
      round: roundNo,
      client: index,
      ttfbMs: ttfbMs ?? totalMs,
      totalMs,
      status: res.statusCode,
      cacheStatus: String(res.headers['x-cache-status'] ?? ''),
      collapsed: String(res.headers['cache-status'] ?? '').includes('collapsed'),
    }
    if (res.statusCode >= 200 && res.statusCode < 300 && bytes !== BODY_BYTES) return { ...sample, error: `body of ${bytes} bytes, expected ${BODY_BYTES}` }
    return sample
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const ms = performance.now() - start
    return { round: roundNo, client: index, ttfbMs: ttfbMs ?? ms, totalMs: ms, status: 0, cacheStatus: '', collapsed: false, error: typeof code === 'string' ? code : String(err) }
  }
}

/**
 * One keep-alive connection per request of the crowd (a Client each, not a Pool: a Pool reuses a
 * connection that has just answered instead of opening a new one). Opened by the first crowd sent.
 * The local port of each connection is kept, to tell which corral worker holds it.
 */
class Crowd {
  private readonly clients: Client[]
  readonly localPorts: Array<number | undefined> = []

  constructor(url: string, size: number) {
    const connector = buildConnector({ timeout: REQUEST_TIMEOUT_MS })
    this.clients = Array.from({ length: size }, (_, i) => {
      const connect: buildConnector.connector = (opts, callback) =>
        connector(opts, (...args) => {
          if (args[0] === null) this.localPorts[i] = args[1].localPort
          callback(...args)
        })
      return new Client(url, { pipelining: 1, connect, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS })
    })
  }

  connected(): number {
    return this.clients.reduce((n, client) => n + (client.closed || client.destroyed ? 0 : 1), 0)
  }

  /** One request on connection `i` alone. */
  sendOn(i: number, path: string): Promise<Sample> {
    return send(this.clients[i]!, i, path, 0)
  }

  fire(path: string, roundNo: number): Promise<Sample[]> {
    return Promise.all(this.clients.map((client, i) => send(client, i, path, roundNo)))
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.destroy()))
  }
}

// ---------------------------------------------------------------- workers, from /proc (Linux)

/** The processes whose parent is `pid` (corral's workers, when it is the primary). */
function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return []
  const out: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return out
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // Fields after the ")" that closes the command name start at field 3 (state); ppid is field 4.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/**
 * The established connections to `port` (server side), from /proc/net/tcp and the processes'
 * file descriptors: for each of `pids`, the client ports of the connections it holds; undefined
 * where /proc cannot tell.
 */
function connectionsByPid(port: number, pids: readonly number[]): number[][] | undefined {
  try {
    const clientPortOf = new Map<string, number>()
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/)
      if (fields.length < 10) continue
      const localPort = parseInt(fields[1]!.split(':')[1] ?? '', 16)
      if (localPort === port && fields[3] === '01') clientPortOf.set(fields[9]!, parseInt(fields[2]!.split(':')[1] ?? '', 16))
    }
    return pids.map((pid) => {
      const ports: number[] = []
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
          const clientPort = target.startsWith('socket:[') ? clientPortOf.get(target.slice(8, -1)) : undefined
          if (clientPort !== undefined) ports.push(clientPort)
        } catch {
          // closed meanwhile
        }
      }
      return ports
    })
  } catch {
    return undefined
  }
}

/**
 * Until every worker of `corral` accepts connections: its workers are forked and start listening
 * one after the other, and a connection accepted before the second listens goes to the first.
 * Opens a few raw connections at a time and looks where they landed. Without /proc: only waits
 * for the processes.
 */
async function waitForWorkers(corral: Server, workers: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (corral.hasExited()) throw new Error(`${corral.name} exited before its workers listened:\n${corral.stderrTail()}`)
    const pids = childPids(corral.child.pid)
    if (pids.length >= workers) {
      const sockets = await Promise.all(
        Array.from({ length: 2 * workers }, () => new Promise<Socket>((resolve) => {
          const socket = connect(corral.port, '127.0.0.1')
          socket.once('connect', () => resolve(socket))
          socket.once('error', () => resolve(socket))
        })),
      )
      await sleep(100)
      const held = connectionsByPid(corral.port, pids)
      for (const socket of sockets) socket.destroy()
      if (held === undefined || held.every((ports) => ports.length > 0)) return
    }
    if (Date.now() > deadline) throw new Error(`${corral.name}: ${workers} workers did not all accept connections within ${READY_TIMEOUT_MS} ms:\n${corral.stderrTail()}`)
    await sleep(100)
  }
}

/** CPU used by this process (`client`) and each server with its descendants (corral's workers), % of one core; `other`: the rest of the machine. */
function treeCpuMeter(servers: readonly Server[]): () => Record<string, number> {
  const snapshot = (): { at: number; client: number; trees: Map<string, number>; busy: number | undefined } => {
    const self = process.cpuUsage()
    return { at: performance.now(), client: (self.user + self.system) / 1000, trees: treeCpuMs(servers), busy: machineBusyMs() }
  }
  const before = snapshot()
  return () => {
    const after = snapshot()
    const wallMs = after.at - before.at
    const pct = (ms: number): number => Math.round((ms / wallMs) * 100)
    const out: Record<string, number> = { client: pct(after.client - before.client) }
    let oursMs = after.client - before.client
    for (const [name, ms] of after.trees) {
      const used = ms - (before.trees.get(name) ?? 0)
      out[name] = pct(used)
      oursMs += used
    }
    if (before.busy !== undefined && after.busy !== undefined) out.other = Math.max(0, pct(after.busy - before.busy - oursMs))
    return out
  }
}

// ---------------------------------------------------------------- one setup

interface Measured {
  readonly samples: readonly Sample[]
  readonly originRequestsPerRound: readonly number[]
  readonly fewestConnections: number
  readonly durationS: number
  readonly cpuPct: Record<string, number>
  /** Server-side connections of the crowd per worker, after the warm-up (workers only, Linux). */
  readonly connectionsByWorker?: readonly number[]
  /** The worker (0, 1, …) holding each connection of the crowd, by its index (workers only, Linux). */
  readonly workerOfClient?: ReadonlyArray<number | undefined>
  /**
   * The last round's path asked again once it was over, on one connection per worker (on the
   * first connection without workers): X-Cache-Status of each, HIT when the body was stored.
   */
  readonly afterRun: readonly string[]
}

/**
 * Warm-up rounds, then measured rounds on `prefix`/<n>, against `url`; through corral, the last
 * round's path once more afterwards. `workersOf`: corral with workers, whose connections to count.
 */
async function measureSetup(
  url: string,
  prefix: string,
  n: number,
  origin: Server,
  measuredServers: readonly Server[],
  options: Options,
  { throughCorral, workersOf }: { throughCorral: boolean; workersOf?: Server },
): Promise<Measured> {
  const crowd = new Crowd(url, n)
  try {
    const warmUpEnds = performance.now() + options.warmupS * 1000
    for (let i = 1; i <= MIN_WARM_UP_ROUNDS || performance.now() < warmUpEnds; i++) {
      await crowd.fire(`${prefix}/warm-up/${i}`, 0)
      await sleep(PAUSE_MS)
    }
    const byWorker = workersOf === undefined ? undefined : connectionsByPid(workersOf.port, childPids(workersOf.child.pid))
    const workerOfPort = new Map<number, number>()
    byWorker?.forEach((ports, worker) => ports.forEach((port) => workerOfPort.set(port, worker)))

    const samples: Sample[] = []
    const originRequestsPerRound: number[] = []
    let fewestConnections = crowd.connected()
    const cpu = treeCpuMeter(measuredServers)
    const started = performance.now()
    const endsAt = started + options.durationS * 1000
    for (let i = 1; i <= MIN_ROUNDS || (i <= MAX_ROUNDS && performance.now() < endsAt); i++) {
      fewestConnections = Math.min(fewestConnections, crowd.connected())
      const before = await originHits(origin)
      samples.push(...(await crowd.fire(`${prefix}/stream/${i}`, i)))
      originRequestsPerRound.push((await originHits(origin)) - before)
      await sleep(PAUSE_MS)
    }
    const durationS = round((performance.now() - started) / 1000, 2)
    const cpuPct = cpu()
    // Is the entry there for everyone once the body was whole? One request per worker.
    const lastPath = `${prefix}/stream/${originRequestsPerRound.length}`
    const workerOfClient = Array.from({ length: n }, (_, i) => workerOfPort.get(crowd.localPorts[i] ?? -1))
    let probeClients: number[] = []
    if (throughCorral) probeClients = byWorker === undefined ? [0] : byWorker.map((_, w) => workerOfClient.indexOf(w)).filter((i) => i !== -1)
    const afterRun: string[] = []
    for (const i of probeClients) {
      const probe = await crowd.sendOn(i, lastPath)
      afterRun.push(probe.error ?? (probe.cacheStatus || `status ${probe.status}`))
    }
    return {
      samples,
      originRequestsPerRound,
      afterRun,
      fewestConnections,
      durationS,
      cpuPct,
      ...(byWorker === undefined ? {} : { connectionsByWorker: byWorker.map((ports) => ports.length), workerOfClient }),
    }
  } finally {
    await crowd.close()
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

function count(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}

/** p50, p99 and max of `values`, in ms to 3 decimals. */
function spread(values: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b)
  return { p50: round(percentile(sorted, 50), 3), p99: round(percentile(sorted, 99), 3), max: round(sorted.at(-1) ?? 0, 3) }
}

/**
 * The figures of one setup. Through corral, each round's leader is the request that fetched (a
 * MISS whose Cache-Status does not say `collapsed`; the fastest TTFB when there is not exactly
 * one), and the followers are the others; at the origin directly every request is counted.
 */
function figuresOf(label: string, m: Measured, n: number, throughCorral: boolean) {
  const problems: string[] = []
  const ok = (s: Sample): boolean => s.error === undefined && s.status >= 200 && s.status < 300
  const rounds = m.originRequestsPerRound.length
  const followers: Sample[] = []
  const fastestPerRound: number[] = []
  const leaderTtfbs: number[] = []
  const leaderTotals: number[] = []
  const p99PerRound: number[] = []
  /** Followers' TTFB by where they were served: the leader's worker, or another (through the primary). */
  const sameWorker: number[] = []
  const otherWorker: number[] = []
  for (let i = 1; i <= rounds; i++) {
    const answered = m.samples.filter((s) => s.round === i && ok(s))
    if (answered.length === 0) continue
    const fastest = answered.reduce((a, s) => (s.ttfbMs < a.ttfbMs ? s : a))
    fastestPerRound.push(fastest.ttfbMs)
    let others = answered
    if (throughCorral) {
      const fetchers = answered.filter((s) => s.cacheStatus === 'MISS' && !s.collapsed)
      const leader = fetchers.length === 1 ? fetchers[0]! : fastest
      leaderTtfbs.push(leader.ttfbMs)
      leaderTotals.push(leader.totalMs)
      others = answered.filter((s) => s !== leader)
      const leaderWorker = m.workerOfClient?.[leader.client]
      if (leaderWorker !== undefined) {
        for (const s of others) {
          const worker = m.workerOfClient?.[s.client]
          if (worker === leaderWorker) sameWorker.push(s.ttfbMs)
          else if (worker !== undefined) otherWorker.push(s.ttfbMs)
        }
      }
    }
    followers.push(...others)
    p99PerRound.push(spread(others.map((s) => s.ttfbMs)).p99)
  }
  const ttfb = spread(followers.map((s) => s.ttfbMs))
  const total = spread(followers.map((s) => s.totalMs))
  const fastestTtfbMs = round(median(fastestPerRound), 3)
  const failed = m.samples.filter((s) => s.error !== undefined)
  const non2xx = m.samples.filter((s) => s.error === undefined && !ok(s))
  const answered = m.samples.filter(ok)

  if (failed.length > 0) {
    const kinds = Object.entries(count(failed.map((s) => s.error ?? ''))).map(([kind, k]) => `${k} ${kind}`)
    problems.push(`${label}: ${failed.length} requests failed: ${kinds.join(', ')}`)
  }
  if (non2xx.length > 0) {
    const statuses = Object.entries(count(non2xx.map((s) => String(s.status)))).map(([status, k]) => `${k}× ${status}`)
    problems.push(`${label}: ${non2xx.length} responses were not 2xx: ${statuses.join(', ')}`)
  }
  if (m.fewestConnections < n) problems.push(`${label}: only ${m.fewestConnections} of ${n} connections were open at the start of a round: the crowd queued in the client`)
  const expected = throughCorral ? 1 : n
  m.originRequestsPerRound.forEach((k, i) => {
    if (k !== expected) problems.push(`${label}, round ${i + 1}: the origin was asked ${k} times, expected ${expected === 1 ? 'once' : `${expected} times`}`)
  })
  const ttfbP99OverBody = round(ttfb.p99 / BODY_MS, 3)
  if (throughCorral && ttfbP99OverBody >= PROBLEM_TTFB_OVER_BODY) {
    problems.push(`${label}: followers' TTFB p99 ${ttfb.p99} ms is ${ttfbP99OverBody} × the body's ${BODY_MS} ms (>= ${PROBLEM_TTFB_OVER_BODY}): they waited for the body instead of receiving it as it came`)
  }
  const otherWorkerP99OverBody = round(spread(otherWorker).p99 / BODY_MS, 3)
  if (otherWorker.length > 0 && otherWorkerP99OverBody >= PROBLEM_TTFB_OVER_BODY) {
    problems.push(`${label}: followers on another worker than the leader's: TTFB p99 ${otherWorkerP99OverBody} × the body's ${BODY_MS} ms: the relay through the primary did not stream`)
  }
  if (m.workerOfClient?.some((w) => w !== undefined) === true && otherWorker.length === 0) {
    problems.push(`${label}: no follower was on another worker than its round's leader: streaming across workers was not measured`)
  }
  if (throughCorral && m.afterRun.some((status) => status !== 'HIT')) {
    problems.push(`${label}: the last round's path asked again afterwards answered ${m.afterRun.join(', ')}, expected HIT (the body stored once whole)`)
  }
  if (m.connectionsByWorker !== undefined && m.connectionsByWorker.some((k) => k === 0)) {
    problems.push(`${label}: the crowd's connections per worker were ${m.connectionsByWorker.join(', ')}: streaming across workers was not measured`)
  }

  const figures = {
    label,
    reqPerSec: round(answered.length / m.durationS, 1),
    /** The followers' TTFB (at the origin directly: every request's). */
    p50Ms: ttfb.p50,
    p99Ms: ttfb.p99,
    ttfbMaxMs: ttfb.max,
    /** The followers' time to the last byte. */
    totalP50Ms: total.p50,
    totalP99Ms: total.p99,
    totalMaxMs: total.max,
    /** Median over rounds of the round's fastest TTFB. */
    fastestTtfbMs,
    ...(throughCorral ? { leaderTtfbMs: round(median(leaderTtfbs), 3), leaderTotalMs: round(median(leaderTotals), 3) } : {}),
    ttfbP99OverLeader: ratio(ttfb.p99, fastestTtfbMs),
    ttfbP99OverBody,
    errors: failed.length,
    non2xx: non2xx.length,
    requests: answered.length,
    rounds,
    originRequestsPerRound: m.originRequestsPerRound,
    originHits: m.originRequestsPerRound.reduce((a, b) => a + b, 0),
    ...(throughCorral
      ? { collapsed: answered.filter((s) => s.collapsed).length, cacheStatus: count(answered.map((s) => s.cacheStatus || '(none)')), afterRun: m.afterRun }
      : {}),
    ...(m.connectionsByWorker === undefined
      ? {}
      : {
          connectionsByWorker: m.connectionsByWorker,
          followersOnLeadersWorker: sameWorker.length,
          followersOnOtherWorker: otherWorker.length,
          ttfbP50LeadersWorkerMs: spread(sameWorker).p50,
          ttfbP99LeadersWorkerMs: spread(sameWorker).p99,
          ttfbP50OtherWorkerMs: spread(otherWorker).p50,
          ttfbP99OtherWorkerMs: spread(otherWorker).p99,
        }),
    p99MsPerRound: p99PerRound,
    durationS: m.durationS,
    cpuPct: m.cpuPct,
    ...(throughCorral ? { note: `TTFB p99 ${ttfbP99OverBody}× the body's ${BODY_MS} ms` } : {}),
  }
  return { figures, problems }
}

// ---------------------------------------------------------------- the scenario

async function run(options: Options): Promise<Report> {
  const n = Math.min(options.crowd, MAX_CROWD)
  const originServers = new Servers(options)
  let corralServers: Servers | undefined
  try {
    const origin = await originServers.origin({ cacheControl: CACHE_CONTROL, bodyBytes: BODY_BYTES, chunks: CHUNKS, chunkIntervalMs: CHUNK_INTERVAL_MS, noLength: true })
    const direct = figuresOf('origin alone', await measureSetup(origin.url, '/direct', n, origin, [origin], options, { throughCorral: false }), n, false)

    corralServers = new Servers(options)
    const single = await corralServers.corral(origin.url)
    const one = figuresOf('corral', await measureSetup(single.url, '/w1', n, origin, [single, origin], options, { throughCorral: true }), n, true)
    await corralServers.stop()

    corralServers = new Servers(options)
    const multi = await corralServers.corral(origin.url, { name: `corral-w${WORKERS}`, args: ['--workers', String(WORKERS)] })
    await waitForWorkers(multi, WORKERS)
    const two = figuresOf(`corral --workers ${WORKERS}`, await measureSetup(multi.url, '/w2', n, origin, [multi, origin], options, { throughCorral: true, workersOf: multi }), n, true)
    await corralServers.stop()
    corralServers = undefined
    const originHitsTotal = await originHits(origin)

    const { label: _label, note: _note, reqPerSec, p50Ms, p99Ms, errors, non2xx, requests, durationS, cpuPct, originHits: hitsRun, ...rest } = one.figures
    const extra = {
      logLevel: options.logLevel,
      crowd: n,
      bodyBytes: BODY_BYTES,
      chunks: CHUNKS,
      chunkIntervalMs: CHUNK_INTERVAL_MS,
      contentLength: false,
      bodyMs: BODY_MS,
      targetTtfbP99OverBody: TARGET_TTFB_OVER_BODY,
      problemTtfbP99OverBody: PROBLEM_TTFB_OVER_BODY,
      ...rest,
      workers: two.figures,
      baseline: { scenario: 'origin alone', ...direct.figures },
      ratioP99: ratio(p99Ms, direct.figures.p99Ms),
    }
    const measured = { reqPerSec, p50Ms, p99Ms, errors, non2xx, requests, durationS, cpuPct }
    const problems = [...one.problems, ...two.problems, ...direct.problems]
    return report('stream-fill', { ...options, connections: n }, measured, { run: hitsRun, total: originHitsTotal }, extra, problems)
  } finally {
    await corralServers?.stop()
    await originServers.stop()
  }
}

export const streamFill: Scenario = {
  name: 'stream-fill',
  description: `1 MiB unsized body over ${BODY_MS} ms, rounds of min(N, ${MAX_CROWD}) requests for one cold key, corral and --workers ${WORKERS}: followers' TTFB p99 < ${PROBLEM_TTFB_OVER_BODY}× the body's time, one origin request`,
  run,
  // The origin directly, one corral, corral --workers 2: each warmed up and measured.
  setups: () => 3,
}
