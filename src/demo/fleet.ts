/**
 * `npm run demo -- --fleet`: the example origin on 127.0.0.1:3000, a private redis-server on a
 * free port (or CORRAL_REDIS_URL when redis-server is not installed), and two corral instances,
 * A on :8080 and B on :8081, sharing it (config/demo-fleet.yaml). `--port` / DEMO_PORT moves A
 * (B takes the next port), `--origin-port` / DEMO_ORIGIN_PORT the origin; default ports that are
 * taken give way to free ones. Prints curl lines that show one instance filling the cache for the
 * other and a crowd across both making one origin request.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants as fsConstants } from 'node:fs'
import type { Server } from 'node:http'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { DestinationStream } from 'pino'
import { loadConfigFile } from '../config/index.js'
import { GatewayError } from '../errors.js'
import { startGateway, type Gateway } from '../gateway.js'
import { createLogger, flushLogs } from '../log.js'
import { listenOn, listenProblem, portOf, stopWithParent, type DemoOptions, type PortChoice } from './options.js'
import { describeOriginHit, startDemoOrigin } from './origin.js'

const configPath = fileURLToPath(new URL('../../config/demo-fleet.yaml', import.meta.url))
const REDIS_START_TIMEOUT_MS = 5_000
const REDIS_STOP_TIMEOUT_MS = 3_000
/** After a stop signal, give up on a graceful stop after this long. */
const STOP_TIMEOUT_MS = 10_000
const GREP = `grep -iE '^(HTTP|x-cache-status|cache-status|age)'`

export async function runFleetDemo(options: DemoOptions): Promise<void> {
  // Set up first: a signal while Redis starts must still stop it.
  const gateways: Gateway[] = []
  const running: { origin?: Server; redis?: DemoRedis } = {}
  let stopping = false
  const stop = (): void => {
    // npm forwards the terminal's Ctrl-C to the process that already got it: one stop is enough.
    if (stopping) return
    stopping = true
    process.stdout.write('\nstopping the fleet demo…\n')
    setTimeout(() => {
      process.stderr.write(`demo: still stopping after ${STOP_TIMEOUT_MS / 1000} s; exiting anyway\n`)
      exit(1)
    }, STOP_TIMEOUT_MS).unref()
    void (async () => {
      await Promise.allSettled(gateways.map((g) => g.close()))
      running.origin?.close()
      running.origin?.closeAllConnections()
      await running.redis?.stop()
      exit(0)
    })()
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop)
  stopWithParent(stop)

  const redis = await findRedis()
  running.redis = redis
  if (stopping) return

  const notes: string[] = []
  const note = (text: string): void => void notes.push(text)
  const originLabel = '[origin]  '
  running.origin = await listenOn(
    options.origin,
    'the origin',
    (port) => startDemoOrigin(port, '127.0.0.1', { onRequest: (hit) => process.stdout.write(`${originLabel}${describeOriginHit(hit)}\n`) }),
    note,
  ).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`the demo origin cannot listen on 127.0.0.1:${options.origin.port}: ${listenProblem(err)}; choose another port with --origin-port or DEMO_ORIGIN_PORT`)
  })
  const upstream = new URL(`http://127.0.0.1:${portOf(running.origin.address())}`)
  // B on the port after A's, unless that one is taken.
  const second: PortChoice = { port: options.corral.port === 0 ? 0 : options.corral.port + 1, explicit: false }
  gateways.push(await startInstance(options.corral, 'A'))
  gateways.push(await startInstance(second, 'B'))
  for (const gateway of gateways) {
    const connection = gateway.runtime.redis
    if (connection !== undefined && !(await connection.whenAvailable(connection.config.connectTimeoutMs + 1_000))) {
      throw new Error(`cannot reach Redis at ${redis.shown}`)
    }
  }
  if (stopping) return

  const [urlA, urlB] = gateways.map((g) => g.urls[0] ?? '')
  const portA = new URL(urlA ?? 'http://x').port
  const portB = new URL(urlB ?? 'http://x').port
  const crowd = `for i in 1 2 3 4 5; do for port in ${portA} ${portB}; do curl -s -o /dev/null -D - -H 'host: crowd.local' http://127.0.0.1:$port/slow | grep -i '^cache-status' & done; done; wait`
  process.stdout.write(
    [
      '',
      'corral fleet demo: two corral instances sharing one Redis',
      `  origin    ${upstream.origin}`,
      `  redis     ${redis.shown}`,
      `  corral A  ${urlA}`,
      `  corral B  ${urlB}   (config ${relative(process.cwd(), configPath) || configPath})`,
      ...notes.map((text) => `  (${text})`),
      '',
      'The cache key includes the Host header: send the same one to both instances, as a load balancer would.',
      '',
      '1. One instance fills the cache for the other (paste both lines; /products has max-age=5):',
      `  curl -si -H 'host: demo.local' ${urlA}/products | ${GREP}`,
      '      # MISS: A asks the origin and stores the answer in Redis',
      `  curl -si -H 'host: demo.local' ${urlB}/products | ${GREP}`,
      '      # HIT: B answers with what A stored; one [origin] line for the two',
      '',
      '2. A crowd across both instances makes one origin request (/slow takes 1 s, max-age=10):',
      `  ${crowd}`,
      '      # ten answers: one "stored" (it fetched), nine "collapsed" (they waited for it, on A or B),',
      '      # and one [origin] line: one origin request for the fleet (again after 10 s: still one)',
      '',
      `Below: ${originLabel.trim()} is every request the origin gets; [A :${portA}] and [B :${portB}] every request each instance answers.`,
      `Ctrl-C stops everything (both instances, the origin${redis.owned ? ' and the redis-server' : ''}).`,
      '',
      '',
    ].join('\n'),
  )

  async function startInstance(choice: PortChoice, name: string): Promise<Gateway> {
    // The label names the port it got, known once it listens.
    let label = `[${name}]`
    const start = async (port: number): Promise<Gateway> => {
      const config = await loadConfigFile(configPath, { redis: redis.url, upstream: upstream.origin, port })
      const gateway = await startGateway(config, { logger: createLogger(config.log, compactLines(() => label)) })
      label = `[${name} :${new URL(gateway.urls[0] ?? 'http://x').port}]`
      return gateway
    }
    return listenOn(choice, `corral ${name}`, start, note).catch((err: unknown) => {
      if (err instanceof GatewayError && err.code === 'CORRAL_ERR_LISTEN') {
        throw new Error(`corral ${name}: ${err.message}${choice.explicit ? '; choose another port with --port or DEMO_PORT' : ''}`)
      }
      throw err
    })
  }
}

// ---------------------------------------------------------------- Redis

interface DemoRedis {
  readonly url: string
  /** The URL without its password, for printing. */
  readonly shown: string
  /** Whether the demo started it (and stops it). */
  readonly owned: boolean
  stop(): Promise<void>
}

async function findRedis(): Promise<DemoRedis> {
  if (onPath('redis-server')) return startRedisServer()
  const url = process.env.CORRAL_REDIS_URL
  if (url !== undefined && url !== '') {
    return { url, shown: `${withoutPassword(url)} (CORRAL_REDIS_URL; redis-server is not on the PATH)`, owned: false, stop: () => Promise.resolve() }
  }
  throw new Error(
    [
      'the fleet demo needs Redis, and redis-server is not on the PATH.',
      '  Install it and the demo starts a private one of its own, e.g.',
      '    sudo apt-get install redis-server      (Debian, Ubuntu)',
      '    brew install redis                     (macOS)',
      '  or point the demo at a Redis you have (its keys go under the "corral-demo" prefix):',
      '    docker run -d --name corral-redis -p 6379:6379 redis:7-alpine',
      '    CORRAL_REDIS_URL=redis://127.0.0.1:6379 npm run demo -- --fleet',
    ].join('\n'),
  )
}

/** Children to kill if the demo exits without stopping them (an error, process.exit). */
const children = new Set<ChildProcess>()

async function startRedisServer(): Promise<DemoRedis> {
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL')
  })
  let lastError = ''
  // A port found free can be taken before redis-server binds it: try another.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir(), '--loglevel', 'warning']
    // Its own process group: the terminal's Ctrl-C goes to the demo, which stops Redis last.
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    children.add(child)
    let output = ''
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4_096)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    let ready = false
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.once('exit', (code, signal) => {
      children.delete(child)
      if (ready) process.stderr.write(`demo: redis-server exited (${signal ?? `code ${code}`}); the instances now serve from memory\n`)
    })
    child.once('error', (err) => {
      children.delete(child)
      lastError = err.message
    })
    const until = Date.now() + REDIS_START_TIMEOUT_MS
    while (!ready && child.exitCode === null && child.signalCode === null && children.has(child) && Date.now() < until) {
      ready = await ping(port)
      if (!ready) await sleep(50)
    }
    if (ready) {
      const url = `redis://127.0.0.1:${port}`
      return {
        url,
        shown: `${url} (a private redis-server, pid ${child.pid}, stopped with the demo)`,
        owned: true,
        stop: async () => {
          ready = false
          if (!children.has(child)) return
          child.kill('SIGTERM')
          const timedOut = await Promise.race([exited.then(() => false), sleep(REDIS_STOP_TIMEOUT_MS).then(() => true)])
          if (timedOut) child.kill('SIGKILL')
          children.delete(child)
        },
      }
    }
    child.kill('SIGKILL')
    children.delete(child)
    lastError ||= output.trim() || `no answer to PING on port ${port} within ${REDIS_START_TIMEOUT_MS / 1000} s`
  }
  throw new Error(`cannot start redis-server: ${lastError}`)
}

/** True when a Redis server on 127.0.0.1:port answers PING. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, command), fsConstants.X_OK)
      return true
    } catch {
      // not in this directory
    }
  }
  return false
}

function withoutPassword(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}

// ---------------------------------------------------------------- logs

/**
 * One short line per log record, behind a label naming the instance, in place of pino's JSON or
 * pretty output: with two instances and the origin writing to one terminal, what each did has
 * to fit on one line.
 */
function compactLines(label: () => string): DestinationStream {
  return {
    write(line: string): void {
      let record: Record<string, unknown>
      try {
        record = JSON.parse(line) as Record<string, unknown>
      } catch {
        process.stdout.write(`${label()} ${line}`)
        return
      }
      process.stdout.write(`${label()} ${describeRecord(record)}\n`)
    },
  }
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

function describeRecord(r: Record<string, unknown>): string {
  const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '')
  if (r.msg === 'request') {
    const parts = [`${text(r.method)} ${text(r.host)}${text(r.path)} → ${text(r.status)} ${text(r.cacheStatus) || '-'}`]
    if (r.lockRole !== undefined) parts.push(`(${text(r.lockRole)})`)
    if (r.reason !== undefined) parts.push(`reason=${text(r.reason)}`)
    if (r.lockWaitMs !== undefined) parts.push(`lock wait ${text(r.lockWaitMs)} ms`)
    if (r.originMs !== undefined) parts.push(`origin ${text(r.originMs)} ms`)
    parts.push(`total ${text(r.totalMs)} ms`)
    return parts.join(' ')
  }
  const level = typeof r.level === 'number' ? (LEVEL_NAMES[r.level] ?? String(r.level)) : ''
  const err = r.err as { message?: unknown } | undefined
  const detail = err !== undefined && typeof err.message === 'string' ? `: ${err.message}` : ''
  return `${level === 'INFO' ? '' : `${level} `}${text(r.msg)}${detail}`
}

function exit(code: number): void {
  flushLogs()
  process.exit(code)
}
