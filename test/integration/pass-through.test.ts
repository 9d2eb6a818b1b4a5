/**
 * The pass-through path as a client and an origin see it: what reaches the origin (method, path,
 * body streamed as it comes, X-Forwarded-*, Via, Host), what reaches the client (status, reason
 * phrase, fields, body), and the failures (unreachable, silent before or after the head, broken
 * off), each with its exact status and timing.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/gateway.js'
import { applyConfig } from '../../src/reload.js'
import { client, startTestGateway, testConfig } from '../helpers/gateway.js'
import { until } from '../helpers/slow-origin.js'

interface Exchange {
  req: IncomingMessage
  res: ServerResponse
  body: Buffer
}

/** A node:http origin run by the test: each request is handed over once its body has arrived whole (or as it starts, `early`). */
async function startOrigin(answer: (x: Exchange) => void, early?: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    if (early !== undefined) {
      early(req, res)
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => answer({ req, res, body: Buffer.concat(chunks) }))
  })
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  return {
    url,
    connections: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const open: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close()
})

function configFor(originUrl: string, upstream: Record<string, unknown> = {}) {
  return testConfig(originUrl, {
    server: { maxBodySize: '64KiB' },
    upstreams: { default: { url: originUrl, ...upstream } },
    routes: [{ name: 'off', match: { path: '/off' }, cache: false }, { name: 'default', cache: true }],
  })
}

async function gatewayFor(originUrl: string, upstream: Record<string, unknown> = {}): Promise<Gateway> {
  const gateway = await startTestGateway(configFor(originUrl, upstream))
  open.push(gateway)
  return gateway
}

/** node's client: a request with the given fields, its body written in parts. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; parts?: string[]; gapMs?: number },
): Promise<{ status: number; message: string; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: res.statusMessage ?? '', headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    const parts = options.parts ?? []
    const next = (i: number): void => {
      if (i === parts.length) {
        req.end()
        return
      }
      req.write(parts[i])
      setTimeout(() => next(i + 1), options.gapMs ?? 0)
    }
    next(0)
  })
}

describe('pass-through: what the origin and the client see', () => {
  it('POST: the body streams to the origin as it comes, fields both ways, reason phrase, X-Forwarded-*, Via, Host', async () => {
    const arrivals: number[] = []
    const origin = await startOrigin(
      () => undefined,
      (req, res) => {
        const started = performance.now()
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => {
          arrivals.push(performance.now() - started)
          chunks.push(c)
        })
        req.on('end', () => {
          res.writeHead(201, 'Made It', {
            'content-type': 'text/plain',
            'x-seen': JSON.stringify({
              method: req.method,
              url: req.url,
              host: req.headers.host,
              xff: req.headers['x-forwarded-for'],
              xfp: req.headers['x-forwarded-proto'],
              xfport: req.headers['x-forwarded-port'],
              xfh: req.headers['x-forwarded-host'],
              via: req.headers.via,
              te: req.headers['transfer-encoding'],
              keepAlive: req.headers['keep-alive'],
              named: req.headers['x-named'],
            }),
            'set-cookie': ['a=1', 'b=2'],
            'keep-alive': 'timeout=99',
            connection: 'x-origin-private',
            'x-origin-private': 'secret',
            'cache-status': 'upstream; hit',
          })
          res.end(Buffer.concat(chunks))
        })
      },
    )
    open.push(origin)
    const gateway = await gatewayFor(origin.url)
    const host = new URL(gateway.urls[0]!).host
    const got = await send(`${gateway.urls[0]!}/items/1?x=1`, {
      headers: { 'content-type': 'text/plain', 'x-forwarded-for': '10.1.1.1', via: '1.0 edge', connection: 'x-named', 'x-named': 'n', 'keep-alive': 'timeout=1' },
      parts: ['one,', 'two,', 'three'],
      gapMs: 60,
    })
    expect(got).toMatchObject({ status: 201, message: 'Made It', body: 'one,two,three' })
    expect(got.headers['x-cache-status']).toBe('BYPASS')
    expect(got.headers['cache-status']).toBe('upstream; hit, corral; fwd=method; detail=method')
    expect(got.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    expect(got.headers['x-origin-private']).toBeUndefined()
    expect(got.headers['keep-alive']).not.toBe('timeout=99')
    const seen = JSON.parse(String(got.headers['x-seen'])) as Record<string, string | undefined>
    expect(seen).toEqual({
      method: 'POST',
      url: '/items/1?x=1',
      host: new URL(origin.url).host,
      xff: '10.1.1.1,127.0.0.1',
      xfp: 'http',
      xfport: new URL(gateway.urls[0]!).port,
      xfh: host,
      via: '1.0 edge, 1.1 corral',
      te: 'chunked',
      named: undefined,
    })
    // Streamed: the origin had the first part long before the client sent the last.
    expect(arrivals.length).toBeGreaterThanOrEqual(2)
    expect(arrivals[arrivals.length - 1]! - arrivals[0]!).toBeGreaterThan(60)
  })

  it('a large answer streams to the client; HEAD and 204 have no body', async () => {
    const big = 'z'.repeat(3_000_000)
    const origin = await startOrigin(({ req, res }) => {
      if (req.url === '/off/none') {
        res.writeHead(204, { 'x-a': '1' })
        res.end()
        return
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': big.length })
      res.end(req.method === 'HEAD' ? undefined : big)
    })
    open.push(origin)
    const gateway = await gatewayFor(origin.url)
    const get = client(gateway.urls[0]!)
    const large = await get('/off/big')
    expect(large).toMatchObject({ status: 200, cacheStatus: 'BYPASS' })
    expect(large.body.length).toBe(big.length)
    expect(await get('/off/big', { method: 'HEAD' })).toMatchObject({ status: 200, body: '' })
    expect(await get('/off/none', { method: 'DELETE' })).toMatchObject({ status: 204, body: '', cacheStatus: 'BYPASS' })
  })
})

describe('pass-through: bodies of every shape', () => {
  it('a body on a GET of a route with caching off, an empty POST, a chunked PUT: each reaches the origin as sent', async () => {
    const origin = await startOrigin(({ req, res, body }) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(`${req.method} ${req.headers['content-length'] ?? '-'} ${req.headers['transfer-encoding'] ?? '-'} ${body.toString()}`)
    })
    open.push(origin)
    const gateway = await gatewayFor(origin.url)
    const base = gateway.urls[0]!
    expect((await send(`${base}/off/a`, { method: 'GET', headers: { 'content-length': '4' }, parts: ['abcd'] })).body).toBe('GET 4 - abcd')
    expect((await send(`${base}/b`, { method: 'POST', headers: { 'content-length': '0' } })).body).toBe('POST 0 - ')
    expect((await send(`${base}/c`, { method: 'PUT', parts: ['x', 'y'] })).body).toBe('PUT - chunked xy')
  })
})

describe('pass-through: failures', () => {
  it('an unreachable origin is a 502', async () => {
    const gateway = await gatewayFor('http://127.0.0.1:1', { connectTimeout: '1s' })
    const got = await client(gateway.urls[0]!)('/x', { method: 'POST', body: 'x' })
    expect(got).toMatchObject({ status: 502, cacheStatus: 'BYPASS' })
    expect(got.body).toContain('CORRAL_ERR_ORIGIN_UNREACHABLE')
  })

  it('an origin silent before its head: 504 when headersTimeout is up, not before, not much after', async () => {
    const sockets = new Set<Socket>()
    const origin = createNetServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
    open.push({
      close: async () => {
        for (const s of sockets) s.destroy()
        await new Promise<void>((resolve) => origin.close(() => resolve()))
      },
    })
    const address = origin.address()
    const originUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
    const gateway = await gatewayFor(originUrl, { headersTimeout: '300ms' })
    const started = performance.now()
    const got = await client(gateway.urls[0]!)('/x', { method: 'POST', body: 'x' })
    const elapsed = performance.now() - started
    expect(got).toMatchObject({ status: 504, cacheStatus: 'BYPASS' })
    expect(got.body).toContain('CORRAL_ERR_ORIGIN_TIMEOUT')
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(600)
  })

  it('an origin that goes silent mid-body: the client is cut off after headersTimeout of silence', async () => {
    const origin = await startOrigin(({ res }) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('x'.repeat(10))
    })
    open.push(origin)
    const gateway = await gatewayFor(origin.url, { headersTimeout: '300ms' })
    const started = performance.now()
    const outcome = await client(gateway.urls[0]!)('/x', { method: 'POST', body: 'x' }).then(
      (got) => `complete ${got.status} ${got.body.length}`,
      (err: Error) => err.message,
    )
    const elapsed = performance.now() - started
    expect(outcome).toBe('other side closed')
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(1_000)
  })
})

describe('unstorable answers on the cache path (no-store, hit-for-miss)', () => {
  it('a small one that arrived whole goes out in one piece, with a Content-Length even when the origin sent it chunked; a large one streams', async () => {
    const big = 'q'.repeat(2_000_000)
    const origin = await startOrigin(({ req, res }) => {
      const headers = { 'cache-control': 'no-store', 'content-type': 'text/plain', connection: 'x-private', 'x-private': 'p', 'x-cache-status': 'HIT' }
      if (req.url === '/chunked') {
        res.writeHead(200, headers)
        res.end('small and chunked') // no Content-Length: node sends it chunked
      } else if (req.url === '/big') {
        res.writeHead(200, { ...headers, 'content-length': big.length })
        res.end(big)
      } else {
        res.writeHead(200, { ...headers, 'content-length': 5 })
        res.end('fixed')
      }
    })
    open.push(origin)
    const gateway = await gatewayFor(origin.url)
    const get = client(gateway.urls[0]!)
    for (let i = 0; i < 3; i++) {
      const chunked = await get('/chunked')
      expect(chunked).toMatchObject({ status: 200, body: 'small and chunked', cacheStatus: 'MISS' })
      expect(chunked.headers['content-length']).toBe(String('small and chunked'.length))
      expect(chunked.headers['transfer-encoding']).toBeUndefined()
      expect(chunked.headers['x-private']).toBeUndefined()
      expect(chunked.cacheStatusHeader).toBe('corral; fwd=uri-miss; fwd-status=200; detail=no-store')
      const fixed = await get('/fixed')
      expect(fixed).toMatchObject({ status: 200, body: 'fixed', cacheStatus: 'MISS' })
      expect(fixed.headers['content-length']).toBe('5')
      const large = await get('/big')
      expect(large).toMatchObject({ status: 200, cacheStatus: 'MISS' })
      expect(large.body.length).toBe(big.length)
      expect((await get('/fixed', { method: 'HEAD' })).body).toBe('')
    }
  })

  it('a reload that moves the upstream elsewhere lets go of the old origin\'s connections at once', async () => {
    const before = await startOrigin(({ res }) => res.end('before'))
    const after = await startOrigin(({ res }) => res.end('after'))
    open.push(before, after)
    const gateway = await gatewayFor(before.url)
    const post = client(gateway.urls[0]!)
    expect(await post('/x', { method: 'POST', body: 'a' })).toMatchObject({ status: 200, body: 'before' })
    expect(before.connections()).toBe(1)
    applyConfig(gateway.runtime, configFor(after.url))
    expect(await post('/x', { method: 'POST', body: 'a' })).toMatchObject({ status: 200, body: 'after' })
    // Idle, the old connection would otherwise stay open for undici's keep-alive timeout (4 s).
    await until(() => before.connections() === 0, 1_000)
  })
})
