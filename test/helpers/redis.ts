/**
 * Private, throwaway Redis servers for the integration tests: a single server that can be
 * killed and restarted on the same port, and a small cluster of masters. Every process is
 * tracked and killed when the test process exits, so a crashed run leaves nothing behind.
 * Never touches the shared Redis on 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants as fsConstants, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, it } from 'vitest'

const HOST = '127.0.0.1'
const STARTUP_TIMEOUT_MS = 10_000
const CLUSTER_TIMEOUT_MS = 20_000
const POLL_INTERVAL_MS = 50
/** The cluster bus listens on the client port + 10000. */
const CLUSTER_BUS_OFFSET = 10_000
const MAX_PORT = 65_535
const OUTPUT_LIMIT = 16_384

export interface RedisServer {
  port: number
  /** redis://127.0.0.1:port */
  url: string
  pid: number | undefined
  /** SIGKILL (a crash); resolves once the process has exited. */
  kill(): Promise<void>
  /** SIGTERM; resolves once the process has exited and its tmp dir is gone. Idempotent. */
  stop(): Promise<void>
  /** Start again on the same port after kill() or stop(), and wait until it answers PING. */
  restart(): Promise<void>
}

export interface RedisClusterNode {
  host: '127.0.0.1'
  port: number
}

export interface RedisClusterServers {
  nodes: RedisClusterNode[]
  stop(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// Availability and describe wrapper
// ---------------------------------------------------------------------------------------------

let redisServerOnPath: boolean | undefined

export function hasRedisServer(): boolean {
  redisServerOnPath ??= findOnPath('redis-server')
  return redisServerOnPath
}

function findOnPath(command: string): boolean {
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

let skipNoticeShown = false

/**
 * A describe block that needs redis-server. Without it the block is skipped locally (with a
 * notice), but fails in CI so a misconfigured pipeline cannot silently skip the Redis tests.
 */
export function describeRedis(name: string, fn: () => void): void {
  if (hasRedisServer()) {
    describe(name, fn)
    return
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs redis-server on the PATH', () => {
        throw new Error(
          'redis-server is not on the PATH: the Redis tests must run in CI (CI=true), install Redis in the CI image',
        )
      })
    })
    return
  }
  if (!skipNoticeShown) {
    skipNoticeShown = true
    console.warn('Skipping the Redis tests: redis-server is not on the PATH.')
  }
  describe.skip(name, fn)
}

// ---------------------------------------------------------------------------------------------
// Process tracking: anything still running when the test process exits is SIGKILLed
// ---------------------------------------------------------------------------------------------

const liveProcesses = new Set<ChildProcess>()
const liveDirs = new Set<string>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // 'exit' handlers must be synchronous: send the signals and remove the dirs, nothing else.
  process.on('exit', () => {
    for (const child of liveProcesses) child.kill('SIGKILL')
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true })
  })
}

function makeTmpDir(prefix: string): string {
  installExitHook()
  const dir = mkdtempSync(join(tmpdir(), prefix))
  liveDirs.add(dir)
  return dir
}

function removeTmpDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  liveDirs.delete(dir)
}

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/** A port the OS considers free right now on 127.0.0.1 (listen on 0, read it, close). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the free port'))))
    })
  })
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen(port, HOST, () => server.close(() => resolve(true)))
  })
}

/**
 * Ports handed out by this module and not yet released. Probing closes the port again, so
 * without this two nodes of one cluster could be given the same port.
 */
const reservedPorts = new Set<number>()

/** A free port p whose cluster bus port p + 10000 is free too and still a valid port. */
async function findFreeClusterPort(): Promise<number> {
  // Port 0 tends to land in the ephemeral range (32768+), where p + 10000 often overflows,
  // so pick at random from the range where the bus port fits.
  const low = 20_000
  const high = MAX_PORT - CLUSTER_BUS_OFFSET
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1))
    if (reservedPorts.has(port) || reservedPorts.has(port + CLUSTER_BUS_OFFSET)) continue
    if (reservedPorts.has(port - CLUSTER_BUS_OFFSET)) continue
    if ((await isPortFree(port)) && (await isPortFree(port + CLUSTER_BUS_OFFSET))) return port
  }
  throw new Error('could not find a free port pair (p, p + 10000) for a Redis cluster node')
}

// ---------------------------------------------------------------------------------------------
// RESP over a raw socket: enough for PING and CLUSTER INFO, with no retries or queues to tame
// ---------------------------------------------------------------------------------------------

/** Sends one command and resolves with the reply as text; rejects on error replies or I/O errors. */
async function sendCommand(port: number, args: string[], timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port })
    let buffer = Buffer.alloc(0)
    const finish = (error: Error | undefined, reply?: string): void => {
      socket.destroy()
      if (error) reject(error)
      else resolve(reply ?? '')
    }
    socket.setTimeout(timeoutMs, () => finish(new Error(`no reply from 127.0.0.1:${port} within ${timeoutMs} ms`)))
    socket.once('error', (error) => finish(error))
    socket.once('close', () => finish(new Error(`connection to 127.0.0.1:${port} closed before a reply`)))
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      const reply = parseReply(buffer)
      if (reply === undefined) return
      if (reply.error) finish(new Error(`${args.join(' ')} on 127.0.0.1:${port}: ${reply.text}`))
      else finish(undefined, reply.text)
    })
    socket.once('connect', () => socket.write(encodeCommand(args)))
  })
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`
}

/** Parses a simple string, error, integer or bulk string reply; undefined while incomplete. */
function parseReply(buffer: Buffer): { error: boolean; text: string } | undefined {
  const lineEnd = buffer.indexOf('\r\n')
  if (lineEnd === -1) return undefined
  const type = String.fromCharCode(buffer[0] ?? 0)
  const line = buffer.subarray(1, lineEnd).toString()
  if (type === '+' || type === ':') return { error: false, text: line }
  if (type === '-') return { error: true, text: line }
  if (type === '$') {
    const length = Number(line)
    if (length < 0) return { error: false, text: '' }
    const start = lineEnd + 2
    if (buffer.length < start + length + 2) return undefined
    return { error: false, text: buffer.subarray(start, start + length).toString() }
  }
  return { error: true, text: `unexpected reply type ${JSON.stringify(type)}` }
}

// ---------------------------------------------------------------------------------------------
// One redis-server process
// ---------------------------------------------------------------------------------------------

interface RedisProcess {
  child: ChildProcess
  /** Resolves when the process has exited, whatever the reason. */
  exited: Promise<void>
  hasExited(): boolean
  /** The server's stdout and stderr so far (the tail, if it is long). */
  output(): string
}

function spawnRedisServer(port: number, dir: string, extraArgs: string[]): RedisProcess {
  installExitHook()
  // Redis accepts config directives as --name value pairs; '' is how `--save ""` arrives.
  const args = [
    '--port', String(port),
    '--bind', HOST,
    '--protected-mode', 'no',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    ...extraArgs,
  ]
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  liveProcesses.add(child)

  let output = ''
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)

  let exited = false
  const exitedPromise = new Promise<void>((resolve) => {
    // 'error' covers a failed spawn (e.g. ENOENT), which never emits 'exit'.
    child.once('error', (error) => {
      collect(Buffer.from(`\nspawn error: ${error.message}\n`))
      exited = true
      liveProcesses.delete(child)
      resolve()
    })
    child.once('exit', () => {
      exited = true
      liveProcesses.delete(child)
      resolve()
    })
  })
  return { child, exited: exitedPromise, hasExited: () => exited, output: () => output }
}

/** Start-up failed because something else holds the port (or, for a cluster, its bus port). */
class PortTakenError extends Error {}

/** Waits until the server answers PING; on failure kills it and throws with its output. */
async function waitForPing(server: RedisProcess, port: number): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  let lastError: unknown
  while (Date.now() < deadline) {
    if (server.hasExited()) {
      const ErrorType = /address already in use/i.test(server.output()) ? PortTakenError : Error
      throw new ErrorType(
        `redis-server on port ${port} exited during start-up (code ${server.child.exitCode ?? 'none'}, ` +
          `signal ${server.child.signalCode ?? 'none'}). Output:\n${server.output()}`,
      )
    }
    let answered = false
    try {
      answered = (await sendCommand(port, ['PING'])) === 'PONG'
    } catch (error) {
      lastError = error
    }
    if (answered) {
      await checkOwnership(server, port)
      return
    }
    await sleep(POLL_INTERVAL_MS)
  }
  await signalAndWait(server, 'SIGKILL')
  throw new Error(
    `redis-server on port ${port} did not answer PING within ${STARTUP_TIMEOUT_MS} ms ` +
      `(last error: ${String(lastError)}). Output:\n${server.output()}`,
  )
}

/**
 * A PONG may come from another Redis already on the port (our process then dies with "Address
 * already in use", but possibly after the PING); make sure the answer came from our process.
 */
async function checkOwnership(server: RedisProcess, port: number): Promise<void> {
  const info = await sendCommand(port, ['INFO', 'server'])
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1])
  if (pid === server.child.pid) return
  await signalAndWait(server, 'SIGKILL')
  throw new PortTakenError(`port ${port} is already served by another Redis (pid ${pid}), not the one just started`)
}

async function signalAndWait(server: RedisProcess, signal: NodeJS.Signals): Promise<void> {
  if (!server.hasExited()) server.child.kill(signal)
  await server.exited
}

/**
 * Spawns redis-server and waits for PING. Another process may grab a probed port before
 * redis-server binds it, so when the port was ours to choose, retry on a fresh one.
 */
async function launch(
  choosePort: () => Promise<number>,
  fixedPort: number | undefined,
  dir: string,
  extraArgs: string[],
): Promise<{ server: RedisProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) {
      // A cluster node that failed to bind has already written a nodes.conf for its old port.
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(dir)
    }
    const port = fixedPort ?? (await choosePort())
    const server = spawnRedisServer(port, dir, extraArgs)
    try {
      await waitForPing(server, port)
      return { server, port }
    } catch (error) {
      if (fixedPort !== undefined || attempt >= 5 || !(error instanceof PortTakenError)) throw error
    }
  }
}

export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
  if (!hasRedisServer()) throw new Error('redis-server is not on the PATH')
  let dir = makeTmpDir('corral-redis-')
  const started = await launch(findFreePort, options.port, dir, []).catch((error: unknown) => {
    removeTmpDir(dir)
    throw error
  })
  const port = started.port
  let current: RedisProcess = started.server
  let stopped = false

  const handle: RedisServer = {
    port,
    url: `redis://${HOST}:${port}`,
    pid: current.child.pid,
    async kill() {
      await signalAndWait(current, 'SIGKILL')
    },
    async stop() {
      await signalAndWait(current, 'SIGTERM')
      if (!stopped) {
        stopped = true
        removeTmpDir(dir)
      }
    },
    async restart() {
      if (!current.hasExited()) {
        throw new Error(`redis-server on port ${port} is still running: kill() or stop() it before restart()`)
      }
      if (stopped) {
        dir = makeTmpDir('corral-redis-')
        stopped = false
      }
      const next = spawnRedisServer(port, dir, [])
      current = next
      handle.pid = next.child.pid
      await waitForPing(next, port)
    },
  }
  return handle
}

// ---------------------------------------------------------------------------------------------
// A cluster of masters
// ---------------------------------------------------------------------------------------------

export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
  if (!hasRedisServer()) throw new Error('redis-server is not on the PATH')
  // redis-cli --cluster create refuses fewer than three masters.
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`a Redis cluster needs at least 3 masters, got ${masters}`)
  }

  const members: Array<{ server: RedisProcess; port: number; dir: string }> = []
  const claimed: number[] = []
  let stopped = false

  const stop = async (): Promise<void> => {
    await Promise.all(members.map((member) => signalAndWait(member.server, 'SIGTERM')))
    if (stopped) return
    stopped = true
    for (const member of members) removeTmpDir(member.dir)
    for (const port of claimed) {
      reservedPorts.delete(port)
      reservedPorts.delete(port + CLUSTER_BUS_OFFSET)
    }
  }

  const choosePort = async (): Promise<number> => {
    const port = await findFreeClusterPort()
    reservedPorts.add(port)
    reservedPorts.add(port + CLUSTER_BUS_OFFSET)
    claimed.push(port)
    return port
  }

  try {
    // allSettled, not all: on a failure, every node still starting must be in members before stop().
    const results = await Promise.allSettled(
      Array.from({ length: masters }, async () => {
        const dir = makeTmpDir('corral-redis-cluster-')
        try {
          const clusterArgs = [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', join(dir, 'nodes.conf'),
            '--cluster-node-timeout', '2000',
          ]
          const { server, port } = await launch(choosePort, undefined, dir, clusterArgs)
          members.push({ server, port, dir })
          return port
        } catch (error) {
          removeTmpDir(dir)
          throw error
        }
      }),
    )
    const ports: number[] = []
    for (const result of results) {
      if (result.status === 'rejected') throw result.reason
      ports.push(result.value)
    }
    await createCluster(ports)
    await waitForClusterOk(ports)
  } catch (error) {
    await stop()
    throw error
  }

  return {
    nodes: members.map((member) => ({ host: HOST, port: member.port })),
    stop,
  }
}

async function createCluster(ports: number[]): Promise<void> {
  const args = [
    '--cluster', 'create',
    ...ports.map((port) => `${HOST}:${port}`),
    '--cluster-replicas', '0',
    '--cluster-yes',
  ]
  const cli = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  liveProcesses.add(cli)
  let output = ''
  cli.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  cli.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))

  const timer = setTimeout(() => cli.kill('SIGKILL'), CLUSTER_TIMEOUT_MS)
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      cli.once('error', reject)
      cli.once('exit', (exitCode) => resolve(exitCode))
    })
    // redis-cli prints [ERR] lines but may still exit 0 in some failure modes, so check both.
    if (code !== 0 || /\[ERR\]/.test(output)) {
      throw new Error(`redis-cli ${args.join(' ')} failed (exit code ${code ?? 'none'}). Output:\n${output}`)
    }
  } finally {
    clearTimeout(timer)
    liveProcesses.delete(cli)
  }
}

/**
 * redis-cli returns once the slots are assigned and the nodes have met, but each node flips to
 * cluster_state:ok on its own schedule; clients connecting earlier get CLUSTERDOWN.
 */
async function waitForClusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + CLUSTER_TIMEOUT_MS
  const states = new Map<number, string>()
  while (Date.now() < deadline) {
    await Promise.all(
      ports.map(async (port) => {
        try {
          const info = await sendCommand(port, ['CLUSTER', 'INFO'])
          states.set(port, /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown')
        } catch (error) {
          states.set(port, `error: ${String(error)}`)
        }
      }),
    )
    if (ports.every((port) => states.get(port) === 'ok')) return
    await sleep(POLL_INTERVAL_MS * 2)
  }
  const summary = ports.map((port) => `${HOST}:${port} ${states.get(port) ?? 'no reply'}`).join(', ')
  throw new Error(`Redis cluster did not reach cluster_state:ok within ${CLUSTER_TIMEOUT_MS} ms: ${summary}`)
}
