/**
 * The gateway: the HTTP side of a runtime (runtime.ts). It listens, answers what node's parser
 * rejects, writes the access line, and drains on close. `startGateway` is what the CLI, the
 * workers, the tests and the load tests start.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Config } from './config/types.js'
import type { RequestContext } from './context.js'
import { GatewayError } from './errors.js'
import type { GatewayLog } from './log.js'
import { handle } from './pipeline.js'
import { createRuntime, type Adapters, type Runtime } from './runtime.js'
import { receive } from './stages/receive.js'
import { respondError } from './stages/respond.js'
import { matchRoute } from './stages/route.js'
import { warmUp } from './warmup.js'

export type GatewayOptions = Adapters

export interface Gateway {
  readonly runtime: Runtime
  /** `http://host:port` of each listener, in config order (the bound port when 0 was asked). */
  readonly urls: readonly string[]
  /** Stop accepting, let in-flight requests finish within server.drainTimeout, then release everything. */
  close(): Promise<void>
}

const CLIENT_ERROR_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
}

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  await warmUp() // once per process, before anything listens (src/warmup.ts)
  const rt = createRuntime(config, options)
  const log = rt.log

  let inFlight = 0
  let drained: (() => void) | undefined

  const failed = (ctx: RequestContext, err: unknown): void => {
    log.internalError(err, { reqId: ctx.reqId })
    respondError(ctx, new GatewayError('CORRAL_ERR_INTERNAL', 'internal error', { cause: err }))
  }

  const finished = (ctx: RequestContext): void => {
    inFlight--
    rt.metrics.request(ctx)
    if (log.accessEnabled && log.wantsAccessLine(ctx.res.statusCode, ctx.res.writableEnded)) logAccess(log, ctx)
    if (inFlight === 0 && drained !== undefined) drained()
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++
    const ctx = receive(req, res)
    if (ctx instanceof GatewayError) {
      res.once('close', () => {
        inFlight--
        if (inFlight === 0 && drained !== undefined) drained()
      })
      res.writeHead(ctx.status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' })
      res.end(`${ctx.status} Bad Request: ${ctx.message} (${ctx.code})\n`)
      rt.metrics.rejected(ctx.status)
      return
    }
    let pending: void | Promise<void> = undefined
    try {
      pending = handle(rt, ctx)
    } catch (err) {
      failed(ctx, err)
    }
    // A hit is answered before handle() returns: account for it now rather than through a
    // 'close' listener on every response. Anything still under way is accounted for on close.
    if (pending === undefined && res.writableEnded) finished(ctx)
    else {
      res.once('close', () => finished(ctx))
      pending?.catch((err: unknown) => failed(ctx, err))
    }
  }

  const tunnels = new Set<Duplex>()
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    tunnels.add(socket)
    socket.once('close', () => tunnels.delete(socket))
    const host = (req.headers.host ?? '').toLowerCase()
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const route = matchRoute(rt.config.routes, host, path, req.method ?? 'GET')
    if (route === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      return
    }
    rt.proxy.ws(req, socket, head, route.upstream)
  }

  const servers: Server[] = []
  const urls: string[] = []
  for (const listener of config.listeners) {
    const server = createServer(
      {
        maxHeaderSize: config.server.maxHeaderBytes,
        requestTimeout: config.server.requestTimeoutMs,
        keepAliveTimeout: config.server.keepAliveTimeoutMs,
        requireHostHeader: true,
      },
      onRequest,
    )
    server.on('upgrade', onUpgrade)
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy()
        return
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
      log.clientError(err, status)
      rt.metrics.rejected(status)
      const body = `${status} ${CLIENT_ERROR_TEXT[status]}\n`
      socket.end(
        `HTTP/1.1 ${status} ${CLIENT_ERROR_TEXT[status]}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      )
    })
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(listener.port, listener.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      // Let go of what was opened so far (other listeners, Redis) so that the caller can exit cleanly.
      for (const opened of servers) opened.close()
      await rt.close().catch(() => undefined)
      throw listenError(listener, err)
    }
    const address = server.address() as AddressInfo
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    urls.push(`http://${host}:${address.port}`)
    log.listening(`${host}:${address.port}`)
    servers.push(server)
  }
  log.started({ source: config.source, routes: config.routes.length, store: rt.store.name })

  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      for (const server of servers) {
        server.close()
        server.closeIdleConnections()
      }
      if (inFlight > 0) {
        log.draining(inFlight, config.server.drainTimeoutMs)
        const allDone = new Promise<void>((resolve) => (drained = resolve))
        const timedOut = await raceTimeout(allDone, config.server.drainTimeoutMs)
        if (timedOut) log.drainTimedOut(inFlight)
      }
      for (const server of servers) server.closeAllConnections()
      for (const socket of tunnels) socket.destroy()
      await raceTimeout(Promise.allSettled([...rt.background]), config.server.drainTimeoutMs)
      await rt.close()
      log.stopped()
    })())

  return { runtime: rt, urls, close }
}

const LISTEN_PROBLEMS: Partial<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'no such address on this machine',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'cannot resolve the host',
}

/** `cannot listen on 127.0.0.1:8080: address already in use (EADDRINUSE)`: one line a person can act on. */
function listenError(listener: { host: string; port: number }, err: unknown): GatewayError {
  const code = (err as NodeJS.ErrnoException).code
  const problem = code === undefined ? (err instanceof Error ? err.message : String(err)) : `${LISTEN_PROBLEMS[code] ?? (err as Error).message} (${code})`
  const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host
  const hint = code === 'EACCES' && listener.port < 1024 ? '; ports below 1024 need privileges' : ''
  return new GatewayError('CORRAL_ERR_LISTEN', `cannot listen on ${host}:${listener.port}: ${problem}${hint}`, { cause: err })
}

function logAccess(log: GatewayLog, ctx: RequestContext): void {
  const { res } = ctx
  log.access({
    reqId: ctx.reqId,
    method: ctx.method,
    host: ctx.host,
    path: ctx.path,
    status: res.statusCode,
    cacheStatus: ctx.cacheStatus,
    reason: ctx.reason,
    route: ctx.route?.name,
    keyId: ctx.keyId,
    lookupMs: round(ctx.lookupMs),
    lockWaitMs: round(ctx.lockWaitMs),
    lockRole: ctx.lockRole,
    originMs: round(ctx.originMs),
    totalMs: round(performance.now() - ctx.startedAt) ?? 0,
    aborted: !res.writableEnded,
  })
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 100) / 100
}

/** Resolves true when the timeout won. */
async function raceTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms)
  })
  try {
    return await Promise.race([promise.then(() => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}
