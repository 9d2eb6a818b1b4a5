/**
 * A small example API for `npm run demo`: each path shows one caching behaviour. The fleet demo
 * and the compose file's origin (origin-main.ts) also have it count and report its requests.
 */
import { createServer, type Server } from 'node:http'

export const DEMO_PATHS = {
  '/products': 'max-age=5 with an ETag: MISS, HIT, then REVALIDATED after 5 s (the origin answers 304)',
  '/news': 'max-age=3, stale-while-revalidate=30: STALE after 3 s while it refreshes in the background',
  '/slow': 'takes 1 s, max-age=10: fire ten at once and the origin sees one request',
  '/me': 'private: never stored, always MISS',
  '/flaky': 'max-age=2, then fails every other request: stale-if-error answers with the old copy',
} as const

/** One request that reached the origin, with the running counts. */
export interface OriginHit {
  readonly method: string
  readonly path: string
  /** The Host the origin was asked with (X-Forwarded-Host when a proxy set it). */
  readonly host: string
  /** Requests for this host and path so far, this one included. */
  readonly forUrl: number
  /** Requests so far, this one included. */
  readonly total: number
}

export interface DemoOriginOptions {
  /** Called for every request, before it is answered. */
  onRequest?: (hit: OriginHit) => void
}

/** `GET crowd.local/slow: origin request #1 for this host and path, 3 in all` */
export function describeOriginHit(hit: OriginHit): string {
  return `${hit.method} ${hit.host}${hit.path}: origin request #${hit.forUrl} for this host and path, ${hit.total} in all`
}

export function startDemoOrigin(port: number, host: string, options: DemoOriginOptions = {}): Promise<Server> {
  let version = 1
  let flakyCalls = 0
  const started = Date.now()
  setInterval(() => version++, 10_000).unref()
  const perUrl = new Map<string, number>()
  let total = 0

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (options.onRequest !== undefined) {
      const forwardedHost = req.headers['x-forwarded-host']
      const asked = (Array.isArray(forwardedHost) ? forwardedHost[0] : forwardedHost) ?? req.headers.host ?? '-'
      const forUrl = (perUrl.get(`${asked}${path}`) ?? 0) + 1
      perUrl.set(`${asked}${path}`, forUrl)
      options.onRequest({ method: req.method ?? 'GET', path, host: asked, forUrl, total: ++total })
    }
    const json = (status: number, headers: Record<string, string>, body: unknown): void => {
      const text = `${JSON.stringify(body, null, 2)}\n`
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
      res.end(text)
    }
    switch (path) {
      case '/products': {
        const etag = `"products-v${version}"`
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag, 'cache-control': 'max-age=5' })
          res.end()
          return
        }
        json(200, { etag, 'cache-control': 'max-age=5' }, { version, products: [{ id: 1, name: 'lamp' }, { id: 2, name: 'chair' }] })
        return
      }
      case '/news':
        json(200, { 'cache-control': 'max-age=3, stale-while-revalidate=30' }, { at: new Date().toISOString(), headline: 'corral ships' })
        return
      case '/slow':
        setTimeout(() => json(200, { 'cache-control': 'max-age=10' }, { computedAt: new Date().toISOString() }), 1_000)
        return
      case '/me':
        json(200, { 'cache-control': 'private, max-age=60' }, { user: req.headers['x-user'] ?? 'anonymous' })
        return
      case '/flaky':
        if (++flakyCalls % 2 === 0) {
          json(503, {}, { error: 'origin is having a bad day' })
          return
        }
        json(200, { 'cache-control': 'max-age=2' }, { uptimeS: Math.round((Date.now() - started) / 1000) })
        return
      default:
        json(404, { 'cache-control': 'max-age=60' }, { error: 'not found', try: Object.keys(DEMO_PATHS) })
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
