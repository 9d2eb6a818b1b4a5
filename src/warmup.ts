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
 * Once per process (the first gateway started warms it for any later one); `CORRAL_WARMUP=0`
 * turns it off.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import { compileConfig } from './config/index.js'
import type { RequestContext } from './context.js'
import { accessLine } from './log.js'
import { handle } from './pipeline.js'
import { createRuntime, type Runtime } from './runtime.js'
import { receive } from './stages/receive.js'
import { MemoryStore } from './store/memory.js'

/** Rounds of fresh connections; each connection sends REQUESTS_PER_CONNECTION requests. */
const ROUNDS = 6
const CONNECTIONS_PER_ROUND = 32
/** Stop early past this, whatever is left: a slow machine must not delay start-up for long. */
const BUDGET_MS = 1_000
const BODY = Buffer.from(`{"warm":"${'x'.repeat(1024 - 13)}"}\n`)
const ETAG = '"warm-1"'

let done = false

export interface WarmUpResult {
  readonly requests: number
  readonly ms: number
}

/** Warms this process once; later calls, and CORRAL_WARMUP=0, return at once (undefined). */
export async function warmUp(): Promise<WarmUpResult | undefined> {
  if (done || process.env.CORRAL_WARMUP === '0') return undefined
  done = true
  const started = performance.now()
  const origin = await listen(createServer(answerAsOrigin))
  let rt: Runtime | undefined
  let gateway: Server | undefined
  let requests = 0
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
    const url = urlOf(gateway)
    const deadline = started + BUDGET_MS
    for (let round = 0; round < ROUNDS && performance.now() < deadline; round++) {
      requests += await burst(url, round)
    }
  } catch {
    // A warm-up that fails only leaves the process colder: never a reason not to start.
  } finally {
    if (gateway !== undefined) await close(gateway)
    await rt?.close().catch(() => undefined)
    await close(origin)
  }
  return { requests, ms: performance.now() - started }
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
 * POST answered after reading the body (pass-through).
 */
function answerAsOrigin(req: IncomingMessage, res: ServerResponse): void {
  req.resume()
  const path = req.url ?? '/'
  const headers: Record<string, string> = { 'content-type': 'application/json', etag: ETAG }
  if (path.startsWith('/validate/')) {
    headers['cache-control'] = 'max-age=0'
    if (req.headers['if-none-match'] === ETAG) {
      res.writeHead(304, headers).end()
      return
    }
  } else if (path.startsWith('/private/')) {
    headers['cache-control'] = 'private'
  } else {
    headers['cache-control'] = 'max-age=3600'
  }
  headers['content-length'] = String(BODY.length)
  req.on('end', () => res.writeHead(200, headers).end(BODY))
}

/**
 * One round: CONNECTIONS_PER_ROUND new connections at once, each with a few requests one after
 * the other: a hit, a miss that a few connections share (coalesced), a revalidation, an
 * unstorable response, a conditional hit and a POST. Returns the requests answered.
 *
 * The client side is node:http, not undici: corral uses undici only towards origins, with its
 * own handlers, and undici's request() here made its hot functions see handlers that production
 * never does: after an undici-client warm-up, uncacheable requests cost ~7% more CPU for the life
 * of the process (A/B, both orders).
 */
async function burst(url: string, round: number): Promise<number> {
  const { port } = new URL(url)
  const agents = Array.from({ length: CONNECTIONS_PER_ROUND }, () => new Agent({ keepAlive: true, maxSockets: 1 }))
  try {
    const answered = await Promise.all(
      agents.map(async (agent, i) => {
        const sequence: WarmRequest[] = [
          { path: '/fresh/hot' },
          { path: `/fresh/${round}/${i % 4}?b=2&a=1` },
          { path: '/fresh/hot', headers: { 'if-none-match': ETAG } },
          { path: '/validate/1' },
          { path: `/private/${i % 2}` },
          { path: '/fresh/hot', headers: { 'accept-encoding': 'gzip', 'user-agent': 'corral-warm-up' } },
          { path: '/post', method: 'POST', body: '{"warm":true}', headers: { 'content-type': 'application/json' } },
        ]
        let n = 0
        for (const r of sequence) {
          await send(agent, Number(port), r)
          n++
        }
        return n
      }),
    )
    return answered.reduce((a, b) => a + b, 0)
  } finally {
    for (const agent of agents) agent.destroy()
  }
}

interface WarmRequest {
  readonly path: string
  readonly method?: 'GET' | 'POST'
  readonly headers?: Record<string, string>
  readonly body?: string
}

/** One request on the agent's one keep-alive connection; resolves once its answer is read. */
function send(agent: Agent, port: number, r: WarmRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent, path: r.path, method: r.method ?? 'GET', headers: r.headers }, (res) => {
      res.once('error', reject)
      res.once('end', resolve)
      res.resume()
    })
    req.once('error', reject)
    req.end(r.body)
  })
}

/** Listens on a free loopback port, exclusively: a cluster worker does not share it with its siblings. */
function listen(server: Server): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
