/**
 * The admin listener: apart from client traffic (127.0.0.1:9090 by default), JSON in and out,
 * one error shape (`{"error": {"code", "message"}}`). Health, readiness, metrics and the status
 * page (which holds no data: it reads /metrics) are open; everything that reveals what is cached
 * or changes it asks for `Authorization: Bearer <token>`, compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AdminConfig } from '../config/types.js'
import { GatewayError } from '../errors.js'
import type { Logger } from '../log.js'
import { AdminError, type AdminBackend, type AdminFailure, type ReadyReport } from './backend.js'
import { parsePurgeBody } from './purge.js'
import { statusPage } from './status-page.js'

/** Largest request body the admin API reads (a list of purges). */
const MAX_BODY_BYTES = 1024 * 1024
/** Request headers an explain call may carry (`header=Name: value`). */
const MAX_EXPLAIN_HEADERS = 64

export interface AdminServer {
  /** `http://host:port` */
  readonly url: string
  close(): Promise<void>
}

export interface AdminOptions {
  /** The admin settings now (a reload may change the token). */
  readonly settings: () => AdminConfig
  readonly backend: AdminBackend
  readonly log: Logger
}

export async function startAdmin(options: AdminOptions): Promise<AdminServer> {
  const { host, port } = options.settings()
  const server = createServer((req, res) => {
    handle(options, req, res).catch((err: unknown) => {
      if (err instanceof AdminError) return fail(res, err.failure)
      options.log.error({ err }, 'admin: internal error')
      fail(res, { status: 500, code: 'internal', message: 'internal error (see the log)' })
    })
  })
  server.keepAliveTimeout = 5_000
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    const why = code === 'EADDRINUSE' ? 'address already in use' : (err as Error).message
    throw new GatewayError('CORRAL_ERR_LISTEN', `cannot open the admin listener on ${host}:${port}: ${why} (${code}); choose another with --admin-port, or 0 to turn it off`, { cause: err })
  }
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${shown}:${address.port}`
  options.log.info({ url }, 'admin listening')
  return { url, close: () => closeServer(server) }
}

async function handle(options: AdminOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin')
  const method = req.method ?? 'GET'
  const route = ROUTES[url.pathname]
  if (route === undefined) return fail(res, { status: 404, code: 'not-found', message: `no admin endpoint ${url.pathname} (see docs: GET /healthz /readyz /metrics /explain, POST /purge /reload)` })
  if (!route.methods.includes(method)) {
    res.setHeader('allow', route.methods.join(', '))
    return fail(res, { status: 405, code: 'method-not-allowed', message: `${url.pathname} takes ${route.methods.join(' or ')}` })
  }
  if (route.token) {
    const refused = authorize(options.settings(), req.headers.authorization)
    if (refused !== undefined) {
      if (refused.status === 401) res.setHeader('www-authenticate', 'Bearer realm="corral admin"')
      return fail(res, refused)
    }
  }
  const { backend } = options
  switch (url.pathname) {
    case '/':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'" })
      res.end(method === 'HEAD' ? undefined : statusPage())
      return
    case '/healthz':
      return json(res, 200, { status: 'ok' })
    case '/readyz': {
      const report = (await backend.call({ op: 'ready' })) as ReadyReport
      return json(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', ...report })
    }
    case '/metrics': {
      const { contentType, text } = await backend.metrics()
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
      res.end(text)
      return
    }
    case '/explain': {
      const target = url.searchParams.get('url')
      if (target === null || target === '') return fail(res, { status: 400, code: 'bad-request', message: 'explain: give the request to explain: ?url=http://host/path (and header=Name:%20value, method=GET)' })
      const headers: Record<string, string> = {}
      const given = url.searchParams.getAll('header')
      if (given.length > MAX_EXPLAIN_HEADERS) return fail(res, { status: 400, code: 'bad-request', message: `explain: at most ${MAX_EXPLAIN_HEADERS} headers` })
      for (const field of given) {
        const colon = field.indexOf(':')
        if (colon <= 0) return fail(res, { status: 400, code: 'bad-request', message: `explain: header "${field}": expected Name: value` })
        const name = field.slice(0, colon).trim().toLowerCase()
        const value = field.slice(colon + 1).trim()
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
      }
      const result = await backend.call({ op: 'explain', input: { url: target, method: url.searchParams.get('method') ?? undefined, headers } })
      return json(res, 200, result)
    }
    case '/purge': {
      const body = await readJson(req)
      const requests = parsePurgeBody(body)
      if (typeof requests === 'string') return fail(res, { status: 400, code: 'bad-request', message: `purge: ${requests}` })
      return json(res, 200, await backend.call({ op: 'purge', requests }))
    }
    case '/reload':
      return json(res, 200, await backend.call({ op: 'reload' }))
  }
}

const ROUTES: Record<string, { methods: readonly string[]; token: boolean } | undefined> = {
  '/': { methods: ['GET', 'HEAD'], token: false },
  '/healthz': { methods: ['GET', 'HEAD'], token: false },
  '/readyz': { methods: ['GET', 'HEAD'], token: false },
  '/metrics': { methods: ['GET'], token: false },
  '/explain': { methods: ['GET'], token: true },
  '/purge': { methods: ['POST'], token: true },
  '/reload': { methods: ['POST'], token: true },
}

/** undefined when the request may go on; otherwise why not. */
export function authorize(settings: AdminConfig, header: string | undefined): AdminFailure | undefined {
  if (settings.token === undefined) {
    return {
      status: 403,
      code: 'admin-token-not-set',
      message: 'this endpoint needs an admin token, and none is set: start corral with CORRAL_ADMIN_TOKEN=<secret> (openssl rand -hex 32) or admin.tokenFile in the config',
    }
  }
  const given = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1]
  if (given === undefined) return { status: 401, code: 'unauthorized', message: 'send the admin token: Authorization: Bearer <token>' }
  if (!sameSecret(given, settings.token)) return { status: 401, code: 'unauthorized', message: 'wrong admin token' }
  return undefined
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest())
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  // The body is read as JSON whatever its declared type: `curl -d` says form-urlencoded. Browsers
  // cannot forge the bearer token cross-origin, so the type is no defence worth the surprise.
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new AdminError({ status: 413, code: 'payload-too-large', message: `request body over ${MAX_BODY_BYTES} bytes` })
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw new AdminError({ status: 400, code: 'bad-request', message: 'expected a JSON body, got none' })
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new AdminError({ status: 400, code: 'bad-request', message: `the body is not JSON: ${(err as Error).message}` })
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function fail(res: ServerResponse, failure: AdminFailure): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const { status, ...error } = failure
  json(res, status, { error })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeIdleConnections()
  })
}
