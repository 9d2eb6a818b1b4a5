/**
 * The plain HIT written straight to the socket (src/stages/hit-fast.ts) against what deliver()
 * has node write for the same entry: byte for byte the same, over real sockets to a real gateway
 * and origin. Requests that take deliver() instead (HTTP/1.0, Connection: close, conditionals,
 * Range, pipelined behind an answer under way) are written by hand on one connection.
 */
import { createServer as createNetServer, connect, type Server as NetServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { pino } from 'pino'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { plainHitsWritten } from '../../src/stages/hit-fast.js'
import { client, later, testConfig, useGateway } from '../helpers/gateway.js'
import { rawExchange } from '../helpers/sockets.js'

interface Raw {
  readonly head: string
  readonly body: string
  readonly bytes: string
}

/** Splits what came back on one connection into its responses; `heads`: which requests were HEAD. */
function responses(raw: string, heads: readonly boolean[] = []): Raw[] {
  const out: Raw[] = []
  let at = 0
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at)
    if (end === -1) throw new Error(`incomplete head: ${JSON.stringify(raw.slice(at))}`)
    const head = raw.slice(at, end + 4)
    const length = /\r\ncontent-length: (\d+)\r\n/i.exec(head)
    const bodyBytes = heads[out.length] === true || length === null ? 0 : Number(length[1])
    out.push({ head, body: raw.slice(end + 4, end + 4 + bodyBytes), bytes: raw.slice(at, end + 4 + bodyBytes) })
    at = end + 4 + bodyBytes
  }
  return out
}

/** A frozen clock at the start of a second: the origin's Date (whole seconds) then says the entry's age exactly. */
function onWholeSecond(): void {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(Math.ceil(Date.now() / 1000) * 1000)
}

/** The Host undici sends to the gateway: part of the cache key, so that raw requests find what `get` stored. */
let host = ''
const request = (path: string, extra = '', version = '1.1', method = 'GET'): string =>
  `${method} ${path} HTTP/${version}\r\nHost: ${host}\r\n${extra}\r\n`
const last = (path: string, method = 'GET'): string => request(path, 'Connection: close\r\n', '1.1', method)

describe('plain HIT written to the socket', () => {
  const t = useGateway(() => ({
    routes: [
      { name: 'cc', match: { path: '/cc/' }, cache: { clientCacheControl: { 'max-age': '5s' } } },
      { name: 'default', cache: true },
    ],
  }))
  const url = (): string => {
    host = new URL(t.gateway.urls[0]!).host
    return t.gateway.urls[0]!
  }

  afterEach(() => vi.useRealTimers())

  it('sends the bytes deliver() has node send: HTTP/1.1 (written here) and HTTP/1.0 keep-alive (deliver) alike', async () => {
    onWholeSecond()
    t.origin.on('/a', { headers: { 'cache-control': 'max-age=60', etag: '"v1"', 'content-type': 'text/plain' }, body: 'hello' })
    expect(await t.get('/a')).toMatchObject({ cacheStatus: 'MISS' })
    later(2_500)
    const before = plainHitsWritten()
    const raw = await rawExchange(url(), request('/a') + request('/a', 'Connection: keep-alive\r\n', '1.0') + last('/a'))
    // The first here, the other two through deliver().
    expect(plainHitsWritten() - before).toBe(1)
    const [fast, delivered, closing] = responses(raw)
    expect(fast!.bytes).toBe(delivered!.bytes)
    expect(fast!.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(fast!.head).toContain('\r\nage: 2\r\nx-cache-status: HIT\r\ncache-status: corral; hit; ttl=58\r\ncontent-length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n')
    expect(fast!.body).toBe('hello')
    // The closing request goes through deliver(): the same fields, then Connection: close.
    expect(closing!.head.replace('Connection: close\r\n', '')).toBe(fast!.head.replace('Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n', ''))
    expect(t.origin.hitsOn('/a')).toBe(1)
  })

  it('HEAD: the head alone, the same as deliver()\'s', async () => {
    t.origin.on('/head', { headers: { 'cache-control': 'max-age=60' }, body: 'body of the head test' })
    await t.get('/head')
    const before = plainHitsWritten()
    const raw = await rawExchange(url(), request('/head', '', '1.1', 'HEAD') + request('/head', 'Connection: keep-alive\r\n', '1.0', 'HEAD') + last('/head'))
    expect(plainHitsWritten() - before).toBe(1)
    const [fast, delivered, full] = responses(raw, [true, true, false])
    expect(fast!.bytes).toBe(delivered!.bytes)
    expect(fast!.head).toContain('content-length: 21\r\n')
    expect(fast!.body).toBe('')
    expect(full!.body).toBe('body of the head test')
  })

  it('the origin\'s Cache-Status and the route\'s clientCacheControl, as deliver() writes them', async () => {
    onWholeSecond()
    t.origin.on('/cc/x', { headers: { 'cache-control': 'max-age=300', 'cache-status': 'upstream; hit' }, body: 'cc' })
    await t.get('/cc/x')
    later(1_000)
    const raw = await rawExchange(url(), request('/cc/x') + request('/cc/x', 'Connection: keep-alive\r\n', '1.0') + last('/cc/x'))
    const [fast, delivered] = responses(raw)
    expect(fast!.bytes).toBe(delivered!.bytes)
    expect(fast!.head).toContain('\r\ncache-control: max-age=5\r\n')
    expect(fast!.head).toContain('\r\ncache-status: upstream; hit, corral; hit; ttl=299\r\n')
  })

  it('Age and ttl move on with the clock', async () => {
    onWholeSecond()
    t.origin.on('/age', { headers: { 'cache-control': 'max-age=100' }, body: 'x' })
    await t.get('/age')
    expect(await t.get('/age')).toMatchObject({ cacheStatus: 'HIT', age: 0, cacheStatusHeader: 'corral; hit; ttl=100' })
    later(3_000)
    expect(await t.get('/age')).toMatchObject({ cacheStatus: 'HIT', age: 3, cacheStatusHeader: 'corral; hit; ttl=97' })
    later(1_000)
    expect(await t.get('/age')).toMatchObject({ cacheStatus: 'HIT', age: 4, cacheStatusHeader: 'corral; hit; ttl=96' })
  })

  it('conditionals and Range still get 304, 412 and 206 on the same connection', async () => {
    t.origin.on('/cond', { headers: { 'cache-control': 'max-age=60', etag: '"e1"' }, body: '0123456789' })
    await t.get('/cond')
    const raw = await rawExchange(
      url(),
      request('/cond', 'If-None-Match: "e1"\r\n') +
        request('/cond', 'If-Match: "other"\r\n') +
        request('/cond', 'Range: bytes=2-4\r\n') +
        request('/cond') +
        last('/cond'),
    )
    const [notModified, failed, partial, plain, closing] = responses(raw)
    expect(notModified!.head).toMatch(/^HTTP\/1\.1 304 /)
    expect(failed!.head).toMatch(/^HTTP\/1\.1 412 /)
    expect(partial!.head).toMatch(/^HTTP\/1\.1 206 /)
    expect(partial!.body).toBe('234')
    expect(plain!.body).toBe('0123456789')
    expect(closing!.body).toBe('0123456789')
    expect(t.origin.hitsOn('/cond')).toBe(1)
  })

  it('pipelined: hits behind a miss under way wait their turn, and all come back in order', async () => {
    t.origin.on('/p/hit', { headers: { 'cache-control': 'max-age=60' }, body: 'hit' })
    t.origin.on('/p/slow', { headers: { 'cache-control': 'max-age=60' }, body: 'slow', delayMs: 50 })
    await t.get('/p/hit')
    const before = plainHitsWritten()
    const raw = await rawExchange(url(), request('/p/hit') + request('/p/slow') + request('/p/hit') + request('/p/hit') + last('/p/hit'))
    const answers = responses(raw)
    // The first hit is written here; those queued behind the miss wait for node to give them the socket.
    expect(plainHitsWritten() - before).toBeGreaterThanOrEqual(1)
    expect(answers.map((r) => r.body)).toEqual(['hit', 'slow', 'hit', 'hit', 'hit'])
    expect(answers.map((r) => /x-cache-status: (\w+)/.exec(r.head)?.[1])).toEqual(['HIT', 'MISS', 'HIT', 'HIT', 'HIT'])
  })

  it('many pipelined hits on one connection, then the connection is still usable', async () => {
    t.origin.on('/many', { headers: { 'cache-control': 'max-age=60' }, body: 'm' })
    await t.get('/many')
    const before = plainHitsWritten()
    const raw = await rawExchange(url(), request('/many').repeat(50) + last('/many'))
    const answers = responses(raw)
    expect(answers).toHaveLength(51)
    // Those parsed while an answer is still on its way out are queued by node, and go through deliver().
    expect(plainHitsWritten() - before).toBeGreaterThanOrEqual(1)
    expect(answers.every((r) => r.body === 'm' && r.head.includes('x-cache-status: HIT'))).toBe(true)
    expect(answers.at(-1)!.head).toContain('Connection: close')
  })

  it('HTTP/1.0 without keep-alive: Connection: close and the connection ends', async () => {
    t.origin.on('/old', { headers: { 'cache-control': 'max-age=60' }, body: 'old' })
    await t.get('/old')
    const [answer] = responses(await rawExchange(url(), request('/old', '', '1.0')))
    expect(answer!.head).toContain('Connection: close')
    expect(answer!.head).toContain('x-cache-status: HIT')
    expect(answer!.body).toBe('old')
  })

  it('keep-alive: one connection serves hits one after another (undici)', async () => {
    t.origin.on('/ka', { headers: { 'cache-control': 'max-age=60' }, body: 'ka' })
    const get = client(url())
    await get('/ka')
    for (let i = 0; i < 20; i++) expect(await get('/ka')).toMatchObject({ status: 200, cacheStatus: 'HIT', body: 'ka' })
  })
})

describe('an entry stored without Date', () => {
  let origin: NetServer
  let gateway: Gateway

  beforeAll(async () => {
    // node's http server always sends Date: this origin is written by hand.
    origin = createNetServer((socket) => {
      socket.on('data', () =>
        socket.write('HTTP/1.1 200 OK\r\ncache-control: max-age=60\r\ncontent-length: 6\r\ncontent-type: text/plain\r\n\r\nnodate'),
      )
      socket.on('error', () => socket.destroy())
    })
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
    const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
    gateway = await startGateway(testConfig(originUrl), { logger: pino({ level: 'silent' }) })
  })

  afterAll(async () => {
    await gateway?.close()
    await new Promise((resolve) => origin.close(resolve))
  })

  it('is a HIT with a Date all the same', async () => {
    const url = gateway.urls[0]!
    host = new URL(url).host
    await client(url)('/nodate')
    const [answer] = responses(await rawExchange(url, last('/nodate')))
    expect(answer!.head).toContain('x-cache-status: HIT')
    expect(answer!.head).toMatch(/\r\ndate: /i)
    expect(answer!.body).toBe('nodate')
  })
})

describe('metrics and access line of a HIT written to the socket', () => {
  it('count it and log it as any HIT', async () => {
    const { Origin } = await import('../helpers/origin.js')
    const origin = await Origin.start()
    const lines: Array<Record<string, unknown>> = []
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
    const gateway = await startGateway(testConfig(origin.url, { log: { level: 'info' } }), { logger })
    try {
      origin.on('/logged', { headers: { 'cache-control': 'max-age=60' }, body: 'logged' })
      const get = client(gateway.urls[0]!)
      await get('/logged')
      expect(await get('/logged')).toMatchObject({ cacheStatus: 'HIT', body: 'logged' })
      const socket = connect(Number(new URL(gateway.urls[0]!).port), '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.destroy()
      const access = lines.filter((l) => l.msg === 'request' && l.path === '/logged')
      expect(access.map((l) => l.cacheStatus)).toEqual(['MISS', 'HIT'])
      expect(access[1]).toMatchObject({ status: 200, method: 'GET', aborted: false, route: expect.any(String) as unknown })
      const metrics = await gateway.runtime.metrics.registry.metrics()
      expect(metrics).toMatch(/corral_requests_total\{[^}]*cache_status="HIT"[^}]*\} 1/)
    } finally {
      await gateway.close()
      await origin.close()
    }
  })
})
