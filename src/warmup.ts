/**
 * Warm-up: before a gateway opens its listeners, run a few thousand requests through the real
 * request flow, so that V8 has compiled (and mostly optimized) the hot functions by the time the
 * first client connects. A cold process answers the first burst of new connections slowly:
 * node's parser, the http server's connection setup, corral's stages and undici all run in the
 * interpreter at first, and Node 20's libuv accepts one connection per loop turn, so a burst of
 * 200 connections is served several milliseconds per connection apart.
 *
 * Nothing of it reaches the user: the warm-up has its own runtime (its own memory store, metrics
 * registry, counters and origin pool, and a logger that discards everything), its own origin (a
 * loopback server in this process), and its own listener on a free loopback port, opened with
 * `exclusive` so that in a `--workers` process it is not shared through the cluster primary. All
 * of it is closed before the gateway listens. What it does share with the gateway is code, and
 * the feedback V8 keeps per function: that is the point.
 *
 * Its own client and origin write and read HTTP on raw sockets, nothing of node:http: they share
 * no code with the gateway's request path, so they teach V8 nothing the gateway will not see
 * again. With node:http's client and server as the warm-up's two ends, node's OutgoingMessage,
 * IncomingMessage and parser callbacks also saw client requests and an origin's responses, and
 * the gateway paid for that variety (megamorphic property loads) on every request for the life of
 * the process; with undici's request() as the client, undici's own hot functions saw handlers
 * production never uses (uncacheable requests cost ~7% more).
 *
 * Once per process (the first gateway started warms it for any later one); `CORRAL_WARMUP=0`
 * turns it off.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net'
import { pino } from 'pino'
import { compileConfig } from './config/index.js'
import type { RequestContext } from './context.js'
import { accessLine } from './log.js'
import { handle } from './pipeline.js'
import { createRuntime, type Runtime } from './runtime.js'
import { receive } from './stages/receive.js'
import { MemoryStore } from './store/memory.js'

/** Rounds of fresh connections; each connection sends burst()'s sequence of requests. */
const ROUNDS = 6
const CONNECTIONS_PER_ROUND = 32
/** Stop early past this, whatever is left: a slow machine must not delay start-up for long. */
const BUDGET_MS = 1_000
const ANSWER_TIMEOUT_MS = 500
const BODY = Buffer.from(`{"warm":"${'x'.repeat(1024 - 13)}"}\n`)
const ETAG = '"warm-1"'

let done = false

export interface WarmUpResult {
  /** Requests sent, and answered whole. */
  readonly sent: number
  readonly answered: number
  readonly ms: number
}

/** Warms this process once; later calls, and CORRAL_WARMUP=0, return at once (undefined). */
export async function warmUp(): Promise<WarmUpResult | undefined> {
  if (done || process.env.CORRAL_WARMUP === '0') return undefined
  done = true
  const started = performance.now()
  const origin = await listen(createNetServer({ noDelay: true }, answerAsOrigin))
  let rt: Runtime | undefined
  let gateway: Server | undefined
  let sent = 0
  let answered = 0
  try {
    const config = compileConfig(
      {
        listeners: [{ host: '127.0.0.1', port: 0 }],
        upstreams: { default: { url: urlOf(origin) } },
        log: { level: 'info' },
        admin: { port: 0 },
      },
      'warm-up',
    )
    // Every line is discarded; the access line is still formatted (accessLine), as it is in production.
    const logger = pino({ level: 'info' }, { write: () => undefined })
    const runtime = createRuntime(config, { logger, store: new MemoryStore(config.store.memory) })
    rt = runtime
    gateway = await listen(createServer((req, res) => onRequest(runtime, req, res)))
    const port = (gateway.address() as AddressInfo).port
    const deadline = started + BUDGET_MS
    for (let round = 0; round < ROUNDS && performance.now() < deadline; round++) {
      const burstCounts = await burst(port, round)
      sent += burstCounts.sent
      answered += burstCounts.answered
    }
  } catch {
    // A warm-up that fails only leaves the process colder: never a reason not to start.
  } finally {
    if (gateway !== undefined) await close(gateway)
    await rt?.close().catch(() => undefined)
    await close(origin)
  }
  return { sent, answered, ms: performance.now() - started }
}

/** The gateway's request handling, minus what belongs to the user (their log and metrics). */
function onRequest(rt: Runtime, req: IncomingMessage, res: ServerResponse): void {
  const ctx = receive(req, res)
  if (!('reqId' in ctx)) {
    res.writeHead(ctx.status).end()
    return
  }
  const finished = (): void => {
    rt.metrics.request(ctx)
    access(ctx)
  }
  let pending: void | Promise<void>
  try {
    pending = handle(rt, ctx)
  } catch {
    res.destroy()
    return
  }
  if (pending === undefined && res.writableEnded) finished()
  else {
    res.once('close', finished)
    pending?.catch(() => res.destroy())
  }
}

function access(ctx: RequestContext): void {
  accessLine({
    reqId: ctx.reqId,
    method: ctx.method,
    host: ctx.host,
    path: ctx.path,
    status: ctx.res.statusCode,
    cacheStatus: ctx.cacheStatus,
    reason: ctx.reason,
    route: ctx.route?.name,
    keyId: ctx.keyId,
    lookupMs: ctx.lookupMs,
    lockWaitMs: ctx.lockWaitMs,
    lockRole: ctx.lockRole,
    originMs: ctx.originMs,
    totalMs: performance.now() - ctx.startedAt,
    aborted: !ctx.res.writableEnded,
  })
}

/**
 * The warm-up's origin: `/fresh/…` cacheable for an hour (misses, then hits), `/validate/…`
 * stale at once with an ETag (revalidated: 304), `/private/…` not storable (hit-for-miss), and
 * POST answered after reading its body (pass-through).
 */
function answerAsOrigin(socket: Socket): void {
  originSockets.add(socket)
  socket.on('close', () => originSockets.delete(socket))
  socket.on('error', () => socket.destroy())
  readMessages(socket, 'request', (head) => {
    const path = head.slice(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1))
    let cacheControl = 'max-age=3600'
    if (path.startsWith('/validate/')) {
      cacheControl = 'max-age=0'
      if (fieldValue(head, 'if-none-match') === ETAG) {
        socket.write(`HTTP/1.1 304 Not Modified\r\ncache-control: ${cacheControl}\r\netag: ${ETAG}\r\ndate: ${new Date().toUTCString()}\r\n\r\n`)
        return
      }
    } else if (path.startsWith('/private/')) {
      cacheControl = 'private'
    }
    socket.cork()
    socket.write(
      `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\netag: ${ETAG}\r\ncache-control: ${cacheControl}\r\n` +
        `date: ${new Date().toUTCString()}\r\ncontent-length: ${BODY.length}\r\n\r\n`,
    )
    socket.write(BODY)
    socket.uncork()
  })
}

const originSockets = new Set<Socket>()

/**
 * Splits what a socket receives into messages (a head, and a body of its Content-Length; none for
 * a 304), and hands each to `onMessage`: all the HTTP the warm-up's own ends need, since neither
 * they nor the gateway send them anything else here. Anything it cannot read ends the connection.
 */
function readMessages(socket: Socket, kind: 'request' | 'response', onMessage: (head: string) => void): void {
  let buffered: Buffer = NO_BYTES
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n')
      if (end === -1) return
      const head = buffered.toString('latin1', 0, end)
      let next: number
      if (kind === 'response' && head.startsWith('HTTP/1.1 304')) next = end + 4
      else if (fieldValue(head, 'transfer-encoding')?.toLowerCase() === 'chunked') {
        // The warm-up's bodies are one short chunk, without trailers.
        const last = buffered.indexOf('0\r\n\r\n', end + 4)
        if (last === -1) return
        next = last + 5
      } else {
        const length = Number(fieldValue(head, 'content-length') ?? (kind === 'request' ? '0' : NaN))
        if (!Number.isSafeInteger(length) || length < 0) {
          socket.destroy()
          return
        }
        next = end + 4 + length
      }
      if (buffered.length < next) return
      buffered = buffered.subarray(next)
      onMessage(head)
    }
  })
}

const NO_BYTES = Buffer.alloc(0)

/** A field's value in a head, by lower-case name (the first one). */
function fieldValue(head: string, name: string): string | undefined {
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name) return line.slice(colon + 1).trim()
  }
  return undefined
}

/**
 * One round: CONNECTIONS_PER_ROUND new connections at once, each with a few requests one after
 * the other: a hit, a miss that a few connections share (coalesced), a revalidation, an
 * unstorable response, a conditional hit and a POST.
 */
async function burst(port: number, round: number): Promise<{ sent: number; answered: number }> {
  let sent = 0
  const answered = await Promise.all(
    Array.from({ length: CONNECTIONS_PER_ROUND }, async (_, i) => {
      const sequence: WarmRequest[] = [
        { path: '/fresh/hot' },
        { path: `/fresh/${round}/${i % 4}?b=2&a=1` },
        { path: '/fresh/hot', fields: `if-none-match: ${ETAG}\r\n` },
        { path: '/validate/1' },
        { path: `/private/${i % 2}` },
        { path: '/fresh/hot', fields: 'accept-encoding: gzip\r\nuser-agent: corral-warm-up\r\n' },
        { path: '/post', method: 'POST', body: '{"warm":true}', fields: 'content-type: application/json\r\n' },
      ]
      sent += sequence.length
      const connection = await Connection.open(port).catch(() => undefined)
      if (connection === undefined) return 0
      let n = 0
      try {
        for (const r of sequence) {
          await connection.send(r)
          n++
        }
      } catch {
        // Counted as unanswered; the rest of the sequence is skipped.
      } finally {
        connection.close()
      }
      return n
    }),
  )
  return { sent, answered: answered.reduce((a, b) => a + b, 0) }
}

interface WarmRequest {
  readonly path: string
  readonly method?: 'GET' | 'POST'
  /** Extra header lines, each ending in CRLF. */
  readonly fields?: string
  readonly body?: string
}

/** One keep-alive connection to the warm-up gateway, one request at a time. */
class Connection {
  private waiting: { resolve: () => void; reject: (err: Error) => void } | undefined

  private constructor(private readonly socket: Socket) {
    // An answer that does not come must not hold up the start.
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => socket.destroy())
    socket.on('error', (err) => this.fail(err))
    socket.on('close', () => this.fail(new Error('warm-up connection closed')))
    readMessages(socket, 'response', () => {
      const waiting = this.waiting
      this.waiting = undefined
      waiting?.resolve()
    })
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => {
        socket.off('error', reject)
        resolve(new Connection(socket))
      })
      socket.once('error', reject)
    })
  }

  /** Resolves once the answer has been read whole. */
  send(r: WarmRequest): Promise<void> {
    const body = r.body ?? ''
    const length = r.method === 'POST' ? `content-length: ${Buffer.byteLength(body)}\r\n` : ''
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject }
      this.socket.write(`${r.method ?? 'GET'} ${r.path} HTTP/1.1\r\nhost: warm-up\r\n${r.fields ?? ''}${length}\r\n${body}`)
    })
  }

  close(): void {
    this.socket.destroy()
  }

  private fail(err: Error): void {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.reject(err)
  }
}

/** Listens on a free loopback port, exclusively: a cluster worker does not share it with its siblings. */
function listen<S extends Server | NetServer>(server: S): Promise<S> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

function close(server: Server | NetServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections()
  else for (const socket of originSockets) socket.destroy()
  return new Promise((resolve) => server.close(() => resolve()))
}

function urlOf(server: Server | NetServer): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
