/**
 * What `hit-nginx` needs beyond lib.ts: nginx with proxy_cache and wrk, both from the system
 * (Debian: `apt-get install -y nginx-light wrk`), never needed by the tests or CI (`uncacheable`
 * also runs nginx, without proxy_cache, when it is installed); child
 * processes with workers (nginx, corral --workers, the bare cluster) whose CPU is counted over
 * their whole process tree; and wrk runs, with a Lua script picking zipf-distributed paths.
 *
 * nginx runs in the foreground from a temporary directory holding its config, pid file, logs,
 * temp files and cache: it is never a system service, and is stopped (SIGTERM, then SIGKILL of
 * the whole tree) when the scenario ends, also on errors and on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { canConnect, type Server } from './lib.js'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const READY_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 5_000
/** Linux's USER_HZ: /proc counts CPU time in 1/100 s. */
const CLOCK_TICK_MS = 10

export const INSTALL_HINT = 'on Debian/Ubuntu: apt-get install -y nginx-light wrk (as root); elsewhere install nginx and wrk from your package manager'

/** The full path of `command` on the PATH (or in /usr/sbin, where Debian puts nginx), or undefined. */
export function findExecutable(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    if (dir === '') continue
    const path = join(dir, command)
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      // not here
    }
  }
  return undefined
}

/** Both tools, or an error saying how to install what is missing. */
export function requireTools(): { nginx: string; wrk: string } {
  const nginx = findExecutable('nginx')
  const wrk = findExecutable('wrk')
  const missing = [nginx === undefined ? 'nginx' : '', wrk === undefined ? 'wrk' : ''].filter((m) => m !== '')
  if (nginx === undefined || wrk === undefined) throw new Error(`hit-nginx needs ${missing.join(' and ')}: ${INSTALL_HINT}`)
  return { nginx, wrk }
}

// ---------------------------------------------------------------- child processes

/** A server process and its descendants (workers). */
export interface TreeServer {
  readonly name: string
  readonly url: string
  readonly port: number
  readonly child: ChildProcess
  readonly exited: Promise<void>
  stderrTail(): string
}

const running = new Set<ChildProcess>()

/** SIGKILL every process tree still running: from 'exit', no waiting. */
function killAll(): void {
  for (const child of running) killTree(child.pid, 'SIGKILL')
  running.clear()
}
process.on('exit', killAll)

export function startTree(name: string, command: string, args: readonly string[], port: number, options: { stdinPipe?: boolean } = {}): TreeServer {
  // stdout to /dev/null (corral's access log, as in production); stdin a pipe for node children,
  // so that they exit when the runner dies.
  const child = spawn(command, args, { stdio: [options.stdinPipe === true ? 'pipe' : 'ignore', 'ignore', 'pipe'] })
  running.add(child)
  let tail = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4096)
  })
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', (err) => {
      tail += `\n${command}: ${err.message}\n`
      resolve()
    })
  })
  void exited.then(() => running.delete(child))
  return { name, url: `http://127.0.0.1:${port}`, port, child, exited, stderrTail: () => tail }
}

export async function waitForTree(server: TreeServer, { minProcesses = 1 } = {}): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const { child } = server
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${server.name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${server.stderrTail()}`)
    }
    if ((await canConnect(server.port)) && treePids(child.pid).length >= minProcesses) return
    if (Date.now() > deadline) throw new Error(`${server.name} did not listen on port ${server.port} within ${READY_TIMEOUT_MS} ms:\n${server.stderrTail()}`)
    await sleep(50)
  }
}

export async function stopTree(server: TreeServer): Promise<void> {
  const { child } = server
  const pids = treePids(child.pid)
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM')
    const timeout = sleep(STOP_TIMEOUT_MS, 'timeout' as const, { ref: false })
    if ((await Promise.race([server.exited, timeout])) === 'timeout') {
      killTree(child.pid, 'SIGKILL')
      await server.exited
    }
  }
  // Workers that outlived their parent.
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone already
    }
  }
  running.delete(child)
}

function killTree(pid: number | undefined, signal: NodeJS.Signals): void {
  for (const p of treePids(pid).reverse()) {
    try {
      process.kill(p, signal)
    } catch {
      // gone already
    }
  }
}


// ---------------------------------------------------------------- CPU of process trees

interface ProcStat {
  readonly ppid: number
  readonly cpuMs: number
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state): ppid is field 4, utime and stime 14 and 15.
    return { ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS }
  } catch {
    return undefined
  }
}

function allStats(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>()
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return stats
  }
  for (const entry of entries) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    const stat = readStat(pid)
    if (stat !== undefined) stats.set(pid, stat)
  }
  return stats
}

/** `root` and its descendants, parents first. */
function treePids(root: number | undefined, stats = allStats()): number[] {
  if (root === undefined || !stats.has(root)) return []
  const children = new Map<number, number[]>()
  for (const [pid, { ppid }] of stats) {
    const list = children.get(ppid)
    if (list === undefined) children.set(ppid, [pid])
    else list.push(pid)
  }
  const out = [root]
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []))
  return out
}

/**
 * The processes of a tree, root first, as lib.ts Servers for measure(), which counts the CPU of
 * each process it is given and not of its children: named `<name> master` and `<name> worker <i>`.
 */
export function treeProcesses(server: TreeServer): Server[] {
  const hasExited = (): boolean => server.child.exitCode !== null || server.child.signalCode !== null
  return treePids(server.child.pid).map((pid, i) => ({
    name: i === 0 ? `${server.name} master` : `${server.name} worker ${i}`,
    url: server.url,
    port: server.port,
    child: i === 0 ? server.child : ({ pid } as ChildProcess),
    exited: server.exited,
    hasExited,
    stderrTail: () => server.stderrTail(),
  }))
}

/** CPU time (ms) of each tree, by name. */
export function treeCpuMs(servers: readonly TreeServer[]): Map<string, number> {
  const stats = allStats()
  const out = new Map<string, number>()
  for (const server of servers) {
    let ms = 0
    for (const pid of treePids(server.child.pid, stats)) ms += stats.get(pid)?.cpuMs ?? 0
    out.set(server.name, ms)
  }
  return out
}

/** Busy CPU time of all cores together (ms), from /proc/stat; undefined elsewhere. */
export function machineBusyMs(): number | undefined {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    return (ticks.reduce((a, b) => a + b, 0) - ticks[3]! - ticks[4]!) * CLOCK_TICK_MS
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------- nginx

export interface NginxSetup {
  readonly port: number
  readonly upstreamPort: number
  readonly workers: number
  /** false: a plain reverse proxy, without proxy_cache. Left out: cached. */
  readonly cache?: boolean
}

/**
 * nginx as a caching reverse proxy, set up the way a production site would be, and as corral is
 * run: proxy_cache in a keys_zone (files under `dir`, in the page cache), proxy_cache_valid,
 * proxy_cache_lock, keep-alive to the origin, sendfile, X-Cache-Status from
 * $upstream_cache_status, and an access log written through a 64 KiB buffer (corral batches its
 * access lines the same way) to /dev/null. keepalive_requests is raised from its default of 1000
 * so that the clients' connections stay open, as they do with Node.
 *
 * With `cache: false`, the same without proxy_cache_path, proxy_cache* and X-Cache-Status: a plain
 * reverse proxy (proxy_pass, keep-alive to the origin), every request forwarded. Its upstream keeps
 * up to 256 idle connections per worker, each for any number of requests, as the undici Pools of
 * corral and the bare hop do: with 32, nginx opened a new connection for about 1 request in 11 at
 * 50 client connections, and lost 13-19% of its req/s to that.
 */
export function nginxConfig(dir: string, setup: NginxSetup): string {
  const cache = setup.cache ?? true
  const cachePath = cache ? `\n  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=corral:16m max_size=1g inactive=60m use_temp_path=off;` : ''
  const cacheLocation = cache
    ? `
      proxy_cache corral;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status;`
    : ''
  return `worker_processes ${setup.workers};
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  access_log /dev/null combined buffer=64k flush=1s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;${cachePath}
  upstream origin {
    server 127.0.0.1:${setup.upstreamPort};
    keepalive ${cache ? '32;' : '256;\n    keepalive_requests 1000000;'}
  }
  server {
    listen 127.0.0.1:${setup.port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";${cacheLocation}
    }
  }
}
`
}

/** Writes the config into `dir` (made writable for nginx's workers, which run as nobody) and starts nginx. */
export function startNginx(nginx: string, dir: string, setup: NginxSetup, name = 'nginx'): TreeServer {
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, 0o777)
  if (setup.cache ?? true) {
    mkdirSync(join(dir, 'cache'), { recursive: true })
    chmodSync(join(dir, 'cache'), 0o777)
  }
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, nginxConfig(dir, setup))
  return startTree(name, nginx, ['-p', dir, '-c', conf], setup.port)
}

// ---------------------------------------------------------------- wrk

/** What one wrk run measured. Latencies from wrk's own histogram (µs resolution). */
export interface WrkFigures {
  readonly reqPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** Connect, read, write errors and timeouts. */
  readonly errors: number
  /** Responses with a status of 400 or more (wrk counts no others). */
  readonly non2xx: number
  readonly requests: number
  readonly durationS: number
  /** CPU used by wrk itself (user + system) during the run, in % of one core. */
  readonly clientCpuPct: number
}

export interface WrkLoad {
  readonly url: string
  readonly durationS: number
  readonly connections: number
  readonly threads: number
  /** Zipf workload: `keys` paths `${prefix}${k}`, k = 1…keys, drawn with exponent `exponent`. */
  readonly zipf?: { readonly prefix: string; readonly keys: number; readonly exponent: number }
}

/** Every run's script ends with this: `done` prints the figures as one JSON line. */
const WRK_DONE = `
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`

/**
 * The zipf workload: `init` draws a sequence of 65,536 paths (from a fixed seed) and formats each
 * request once, so that `request` costs wrk a table read and no string building. (`request`
 * must be defined at the top level: wrk decides from it whether requests are dynamic.)
 */
const WRK_ZIPF = `
local seq, count, i = {}, 0, 0
function init(args)
  local prefix, n, s, seed = args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
  local cdf, sum = {}, 0
  for k = 1, n do sum = sum + 1 / (k ^ s); cdf[k] = sum end
  math.randomseed(seed)
  local formatted = {}
  count = 65536
  for j = 1, count do
    local u = math.random() * sum
    local lo, hi = 1, n
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if cdf[mid] < u then lo = mid + 1 else hi = mid end
    end
    local req = formatted[lo]
    if req == nil then req = wrk.format(nil, prefix .. lo); formatted[lo] = req end
    seq[j] = req
  end
end
function request()
  i = i + 1
  if i > count then i = 1 end
  return seq[i]
end
${WRK_DONE}`

function wrkScript(dir: string, zipf: boolean): string {
  const path = join(dir, zipf ? 'wrk-zipf.lua' : 'wrk-done.lua')
  writeFileSync(path, zipf ? WRK_ZIPF : WRK_DONE)
  return path
}

/**
 * One wrk run. wrk runs under sh, whose `times` gives the CPU time of its children (wrk) once it
 * has exited; wrk's threads (`threads`) each get connections / threads connections.
 */
export async function runWrk(wrk: string, dir: string, load: WrkLoad): Promise<WrkFigures> {
  const args = ['-t', String(load.threads), '-c', String(load.connections), '-d', `${load.durationS}s`, '--timeout', '10s', '-s', wrkScript(dir, load.zipf !== undefined), load.url]
  if (load.zipf !== undefined) args.push('--', load.zipf.prefix, String(load.zipf.keys), String(load.zipf.exponent), '1')
  const child = spawn('sh', ['-c', '"$0" "$@"; status=$?; times; exit $status', wrk, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => (out += chunk))
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => (err += chunk))
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c))
    child.once('error', () => resolve(-1))
  })
  running.delete(child)
  const json = /^WRKJSON (.*)$/m.exec(out)?.[1]
  if (code !== 0 || json === undefined) throw new Error(`wrk failed (${code}):\n${out}\n${err}`)
  const r = JSON.parse(json) as Record<string, number>
  // times: "<shell user> <shell sys>\n<children user> <children sys>", each like 0m1.234s
  const timesLines = out.trim().split('\n').slice(-2)
  const childCpuS = (timesLines[1] ?? '')
    .trim()
    .split(/\s+/)
    .map((t) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(t)
      return m === null ? 0 : Number(m[1]) * 60 + Number(m[2])
    })
    .reduce((a, b) => a + b, 0)
  const durationS = r.durationUs! / 1e6
  return {
    reqPerSec: Math.round((r.requests! / durationS) * 10) / 10,
    p50Ms: r.p50Us! / 1000,
    p99Ms: r.p99Us! / 1000,
    maxMs: r.maxUs! / 1000,
    errors: r.connect! + r.read! + r.write! + r.timeout!,
    non2xx: r.status!,
    requests: r.requests!,
    durationS: Math.round(durationS * 100) / 100,
    clientCpuPct: Math.round((childCpuS / durationS) * 100),
  }
}
