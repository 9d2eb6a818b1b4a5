/**
 * Transcripts for the small rules of docs/http-semantics.md ("Edge rules"), one `it` per rule.
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import { connect, createServer as createNetServer, type Socket } from 'node:net'
import { describe, expect, it, vi } from 'vitest'
import { client, type Get, later, startTestGateway, testConfig, useGateway } from '../helpers/gateway.js'

const t = useGateway(() => ({
  routes: [
    { name: 'heuristic', match: { path: '/heuristic/' }, cache: { heuristic: '10%' } },
    { name: 'tenant', match: { path: '/tenant/' }, cache: { key: { headers: ['x-tenant'] } } },
    { name: 'default', cache: true },
  ],
}))

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz'
const httpDate = (ms: number): string => new Date(ms).toUTCString()
const base = (): string => t.gateway.urls[0]!

/** Wait until the gateway's background refreshes have finished. */
async function settled(): Promise<void> {
  await Promise.allSettled([...t.gateway.runtime.background])
}

/** Polls until the condition holds (the test's own timeout bounds it). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5))
}

/** Requests waiting on a leader's fetch. */
const waiting = (): number => t.gateway.runtime.coalescer.stats().waiting

/** The response's field names, without the ones node's server adds to every response. */
function fieldNames(headers: Record<string, unknown>): string[] {
  return Object.keys(headers)
    .filter((name) => name !== 'connection' && name !== 'keep-alive' && name !== 'date')
    .sort()
}

interface Exchange {
  status: number
  headers: IncomingHttpHeaders
  body: string
  interim: Array<{ status: number; headers: IncomingHttpHeaders }>
}

/**
 * One request with node's own client: it sends fields undici refuses (Connection options,
 * Keep-Alive, Expect, Transfer-Encoding…) and reports the interim responses it got.
 */
function exchange(path: string, init: { method?: string; headers?: OutgoingHttpHeaders; body?: string } = {}, url = base()): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const interim: Exchange['interim'] = []
    const req = httpRequest(`${url}${path}`, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), interim }))
      res.on('error', reject)
    })
    req.on('information', (info) => interim.push({ status: info.statusCode, headers: info.headers }))
    req.on('error', reject)
    req.end(init.body)
  })
}

interface RawOrigin {
  readonly url: string
  readonly hits: () => number
  close(): Promise<void>
}

/**
 * A bare TCP origin for what node's HTTP server cannot send (a 103 without Link, other 1xx codes): `answer` writes the raw bytes for the n-th request.
 */
async function rawOrigin(answer: (socket: Socket, n: number) => void): Promise<RawOrigin> {
  const sockets = new Set<Socket>()
  let hits = 0
  const server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    let head = ''
    socket.on('data', (data: Buffer) => {
      head += data.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      head = ''
      answer(socket, ++hits)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A gateway with the default configuration in front of a raw origin, for one test. */
async function withRawOrigin(answer: (socket: Socket, n: number) => void, run: (get: Get, origin: RawOrigin, url: string) => Promise<void>) {
  const origin = await rawOrigin(answer)
  try {
    const gateway = await startTestGateway(testConfig(origin.url))
    try {
      await run(client(gateway.urls[0]!), origin, gateway.urls[0]!)
    } finally {
      await gateway.close()
    }
  } finally {
    await origin.close()
  }
}

describe('freshness and storing', () => {
  it('caps heuristic freshness at one day', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    // 10% of 100 days would be 10 days
    const lastModified = httpDate(Date.now() - 100 * 86_400_000)
    t.origin.on('/heuristic/cap', (_r, n) => ({ headers: { 'last-modified': lastModified }, body: `v${n}` }))
    expect(await t.get('/heuristic/cap')).toMatchObject({ cacheStatus: 'MISS', body: 'v1' })
    later(86_400_000 - 2_000)
    expect(await t.get('/heuristic/cap')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
    later(4_000)
    expect(await t.get('/heuristic/cap')).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
    expect(t.origin.hitsOn('/heuristic/cap')).toBe(2)
  })

  it('gives no heuristic freshness unless Date is later than Last-Modified', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const now = Date.now()
    t.origin.on('/heuristic/same-second', (_r, n) => ({ headers: { 'last-modified': httpDate(now) }, body: `v${n}` }))
    t.origin.on('/heuristic/future', (_r, n) => ({ headers: { 'last-modified': httpDate(now + 60_000) }, body: `v${n}` }))
    for (const path of ['/heuristic/same-second', '/heuristic/future']) {
      const first = await t.get(path)
      expect(first).toMatchObject({ cacheStatus: 'MISS', body: 'v1' })
      expect(first.cacheStatusHeader).toBe('corral; fwd=uri-miss; fwd-status=200; detail=no-freshness')
      // not stored at all (a lifetime of 0 would store it to be revalidated: EXPIRED, with If-Modified-Since)
      expect(await t.get(path)).toMatchObject({ cacheStatus: 'MISS', body: 'v2' })
      expect(t.origin.seen.filter((r) => r.url === path).map((r) => r.headers['if-modified-since'])).toEqual([undefined, undefined])
    }
  })

  it('stores a public response with a validator and no lifetime at lifetime 0: every use revalidates it', async () => {
    t.origin.on('/public-etag', (r) =>
      r.headers['if-none-match'] === '"p"' ? { status: 304, headers: { etag: '"p"' } } : { headers: { 'cache-control': 'public', etag: '"p"' }, body: 'pub' },
    )
    expect(await t.get('/public-etag')).toMatchObject({ status: 200, cacheStatus: 'MISS', body: 'pub' })
    expect(await t.get('/public-etag')).toMatchObject({ status: 200, cacheStatus: 'REVALIDATED', body: 'pub' })
    expect(await t.get('/public-etag')).toMatchObject({ status: 200, cacheStatus: 'REVALIDATED', body: 'pub' })
    expect(t.origin.seen.map((r) => r.headers['if-none-match'])).toEqual([undefined, '"p"', '"p"'])
  })

  it('ignores Expires as well as Cache-Control when a targeted field is present', async () => {
    const inAnHour = httpDate(Date.now() + 3_600_000)
    t.origin.on('/targeted-expires', (_r, n) => ({ headers: { 'cdn-cache-control': 'no-transform', expires: inAnHour }, body: `v${n}` }))
    const first = await t.get('/targeted-expires')
    expect(first).toMatchObject({ status: 200, cacheStatus: 'MISS', body: 'v1' })
    expect(first.cacheStatusHeader).toBe('corral; fwd=uri-miss; fwd-status=200; detail=no-freshness')
    expect(first.headers.expires).toBe(inAnHour)
    expect(await t.get('/targeted-expires')).toMatchObject({ cacheStatus: 'MISS', body: 'v2' })
    expect(t.origin.hitsOn('/targeted-expires')).toBe(2)
    // control: without the targeted field, the same Expires makes it fresh
    t.origin.on('/plain-expires', (_r, n) => ({ headers: { expires: inAnHour }, body: `v${n}` }))
    await t.get('/plain-expires')
    expect(await t.get('/plain-expires')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
  })

  it('answers a request with no-store from a stored entry', async () => {
    t.origin.on('/req-no-store', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `v${n}` }))
    await t.get('/req-no-store')
    expect(await t.get('/req-no-store', { headers: { 'cache-control': 'no-store' } })).toMatchObject({ status: 200, cacheStatus: 'HIT', body: 'v1' })
    expect(t.origin.hitsOn('/req-no-store')).toBe(1)
  })
})

describe('validation', () => {
  it('a 304 that makes the entry unstorable deletes the URI with its variants; the requester gets the stored body with the 304\'s fields and cookie', async () => {
    t.origin.on('/unstorable-304', (r) => {
      const language = String(r.headers['accept-language'])
      return r.headers['if-none-match'] !== undefined
        ? { status: 304, headers: { etag: `"${language}"`, 'cache-control': 'no-store', 'x-version': '2', 'set-cookie': 'session=new' } }
        : { headers: { etag: `"${language}"`, vary: 'accept-language', 'cache-control': 'max-age=0', 'x-version': '1' }, body: `body-${language}` }
    })
    const fr = { headers: { 'accept-language': 'fr' } }
    const de = { headers: { 'accept-language': 'de' } }
    await t.get('/unstorable-304', fr)
    await t.get('/unstorable-304', de)
    const once = await t.get('/unstorable-304', fr)
    expect(once).toMatchObject({ status: 200, cacheStatus: 'REVALIDATED', body: 'body-fr' })
    expect(once.headers['x-version']).toBe('2')
    expect(once.headers['cache-control']).toBe('no-store')
    expect(once.headers['set-cookie']).toBe('session=new')
    // both variants are gone: fetched again without conditions, as misses
    expect(await t.get('/unstorable-304', de)).toMatchObject({ status: 200, cacheStatus: 'MISS', body: 'body-de' })
    expect(await t.get('/unstorable-304', fr)).toMatchObject({ status: 200, cacheStatus: 'MISS', body: 'body-fr' })
    expect(t.origin.seen.map((r) => [r.headers['accept-language'], r.headers['if-none-match']])).toEqual([
      ['fr', undefined],
      ['de', undefined],
      ['fr', '"fr"'],
      ['de', undefined],
      ['fr', undefined],
    ])
  })
})

describe('304 without Date', () => {
  it('a 304 without Date is dated when it arrived (RFC 9110 §6.6.1): the refreshed entry is fresh again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    await withRawOrigin(
      (socket, n) =>
        socket.write(
          n === 1
            ? 'HTTP/1.1 200 OK\r\ncache-control: max-age=60\r\netag: "d"\r\ncontent-length: 2\r\n\r\nok'
            : 'HTTP/1.1 304 Not Modified\r\netag: "d"\r\n\r\n',
        ),
      async (get, origin) => {
        expect(await get('/no-date')).toMatchObject({ status: 200, cacheStatus: 'MISS' })
        later(120_000)
        expect(await get('/no-date')).toMatchObject({ status: 200, cacheStatus: 'REVALIDATED', body: 'ok' })
        expect(await get('/no-date')).toMatchObject({ status: 200, cacheStatus: 'HIT', body: 'ok' })
        expect(origin.hits()).toBe(2)
      },
    )
  })
})

describe('ranges and conditionals answered from the cache', () => {
  const stored = { headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain', etag: '"abc"', 'x-stored': 'yes' }, body: ALPHABET }

  it('sends Accept-Ranges: bytes on 206 responses only', async () => {
    t.origin.on('/accept-ranges', stored)
    const miss = await t.get('/accept-ranges')
    expect(miss).toMatchObject({ status: 200, cacheStatus: 'MISS' })
    expect(miss.headers['accept-ranges']).toBeUndefined()
    const hit = await t.get('/accept-ranges')
    expect(hit).toMatchObject({ status: 200, cacheStatus: 'HIT' })
    expect(hit.headers['accept-ranges']).toBeUndefined()
    const single = await t.get('/accept-ranges', { headers: { range: 'bytes=0-1' } })
    expect(single).toMatchObject({ status: 206, body: 'ab' })
    expect(single.headers['accept-ranges']).toBe('bytes')
    const multi = await t.get('/accept-ranges', { headers: { range: 'bytes=0-1, 24-' } })
    expect(multi.status).toBe(206)
    expect(multi.headers['accept-ranges']).toBe('bytes')
    const unsatisfiable = await t.get('/accept-ranges', { headers: { range: 'bytes=100-' } })
    expect(unsatisfiable.status).toBe(416)
    expect(unsatisfiable.headers['accept-ranges']).toBeUndefined()
    const ifRangeFails = await t.get('/accept-ranges', { headers: { range: 'bytes=0-1', 'if-range': '"old"' } })
    expect(ifRangeFails).toMatchObject({ status: 200, body: ALPHABET })
    expect(ifRangeFails.headers['accept-ranges']).toBeUndefined()
    const head = await t.get('/accept-ranges', { method: 'HEAD', headers: { range: 'bytes=0-1' } })
    expect(head.status).toBe(200)
    expect(head.headers['accept-ranges']).toBeUndefined()
  })

  it('evaluates preconditions before Range: a 304 or a 412 wins over a 206', async () => {
    t.origin.on('/precondition-range', stored)
    await t.get('/precondition-range')
    const notModified = await t.get('/precondition-range', { headers: { range: 'bytes=0-4', 'if-none-match': '"abc"' } })
    expect(notModified).toMatchObject({ status: 304, body: '' })
    expect(notModified.headers['content-range']).toBeUndefined()
    const failed = await t.get('/precondition-range', { headers: { range: 'bytes=0-4', 'if-match': '"other"' } })
    expect(failed).toMatchObject({ status: 412, body: '' })
    expect(failed.headers['content-range']).toBeUndefined()
    const ifMatchThenNoneMatch = await t.get('/precondition-range', {
      headers: { range: 'bytes=0-4', 'if-match': '"abc"', 'if-none-match': '"abc"' },
    })
    expect(ifMatchThenNoneMatch.status).toBe(304)
    expect(t.origin.hitsOn('/precondition-range')).toBe(1)
  })

  it('sends a client 304 with the RFC 9110 §15.4.5 fields of the stored response and nothing else', async () => {
    const lastModified = httpDate(Date.now() - 3_600_000)
    const expires = httpDate(Date.now() + 60_000)
    t.origin.on('/full-304', {
      headers: {
        'cache-control': 'max-age=60',
        'content-location': '/full-304.txt',
        etag: '"f"',
        expires,
        vary: 'accept-encoding',
        'last-modified': lastModified,
        'content-type': 'text/plain',
        'content-language': 'en',
        'x-stored': 'yes',
      },
      body: 'full',
    })
    const miss = await t.get('/full-304', { headers: { 'accept-encoding': 'gzip' } })
    const res = await t.get('/full-304', { headers: { 'accept-encoding': 'gzip', 'if-none-match': '"f"' } })
    expect(res).toMatchObject({ status: 304, cacheStatus: 'HIT', body: '' })
    expect(fieldNames(res.headers)).toEqual([
      'age',
      'cache-control',
      'cache-status',
      'content-location',
      'etag',
      'expires',
      'last-modified',
      'vary',
      'x-cache-status',
    ])
    expect(res.headers).toMatchObject({
      'cache-control': 'max-age=60',
      'content-location': '/full-304.txt',
      date: miss.headers.date,
      etag: '"f"',
      expires,
      vary: 'accept-encoding',
      'last-modified': lastModified,
    })
    expect(res.age).toBeTypeOf('number')
    expect(res.cacheStatusHeader).toMatch(/^corral; hit; ttl=\d+$/)
  })

  it('sends 412 and 416 with X-Cache-Status and Cache-Status but none of the stored fields', async () => {
    t.origin.on('/bare-errors', stored)
    await t.get('/bare-errors')
    const failed = await t.get('/bare-errors', { headers: { 'if-match': '"other"' } })
    expect(failed).toMatchObject({ status: 412, cacheStatus: 'HIT', body: '' })
    expect(failed.cacheStatusHeader).toMatch(/^corral; hit; ttl=\d+$/)
    expect(fieldNames(failed.headers)).toEqual(['cache-status', 'content-length', 'x-cache-status'])
    const unsatisfiable = await t.get('/bare-errors', { headers: { range: 'bytes=100-' } })
    expect(unsatisfiable).toMatchObject({ status: 416, cacheStatus: 'HIT', body: '' })
    expect(unsatisfiable.cacheStatusHeader).toMatch(/^corral; hit; ttl=\d+$/)
    expect(fieldNames(unsatisfiable.headers)).toEqual(['cache-status', 'content-length', 'content-range', 'x-cache-status'])
    expect(unsatisfiable.headers['content-range']).toBe('bytes */26')
  })
})

describe('invalidation', () => {
  it('passes OPTIONS and TRACE through to the origin without invalidating anything', async () => {
    t.origin.on('/safe-methods', (r, n) =>
      r.method === 'GET'
        ? { headers: { 'cache-control': 'max-age=60' }, body: `GET ${n}` }
        : { headers: { allow: 'GET, OPTIONS, TRACE', location: '/safe-other', 'content-location': '/safe-other' }, body: `${r.method} ${n}` },
    )
    t.origin.on('/safe-other', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `other ${n}` }))
    await t.get('/safe-methods')
    await t.get('/safe-other')
    for (const method of ['OPTIONS', 'TRACE']) {
      const res = await t.get('/safe-methods', { method })
      expect(res).toMatchObject({ status: 200, cacheStatus: 'BYPASS', body: `${method} ${method === 'OPTIONS' ? 2 : 3}` })
      expect(res.cacheStatusHeader).toBe('corral; fwd=method; detail=method')
    }
    expect(t.origin.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /safe-methods',
      'GET /safe-other',
      'OPTIONS /safe-methods',
      'TRACE /safe-methods',
    ])
    expect(await t.get('/safe-methods')).toMatchObject({ cacheStatus: 'HIT', body: 'GET 1' })
    expect(await t.get('/safe-other')).toMatchObject({ cacheStatus: 'HIT', body: 'other 1' })
  })

  it("clears the key's hit-for-miss mark: after an invalidation a crowd is coalesced again", async () => {
    let cacheable = false
    t.origin.on('/hit-for-miss', (_r, n) => ({ headers: { 'cache-control': cacheable ? 'max-age=60' : 'private' }, body: `v${n}` }))
    await t.get('/hit-for-miss') // private: the key is marked hit-for-miss
    // while it is marked, a crowd does not queue: every request goes to the origin
    let open = t.origin.closeGate()
    let crowd = Promise.all([1, 2, 3].map(() => t.get('/hit-for-miss')))
    await until(() => t.origin.held + waiting() === 3)
    expect([t.origin.held, waiting()]).toEqual([3, 0])
    open()
    await crowd
    cacheable = true
    expect(await t.get('/hit-for-miss', { method: 'POST', body: 'x' })).toMatchObject({ status: 200, cacheStatus: 'BYPASS' })
    open = t.origin.closeGate()
    crowd = Promise.all([1, 2, 3, 4, 5].map(() => t.get('/hit-for-miss')))
    await until(() => t.origin.held + waiting() === 5)
    expect([t.origin.held, waiting()]).toEqual([1, 4])
    open()
    expect((await crowd).map((r) => r.body)).toEqual(['v6', 'v6', 'v6', 'v6', 'v6'])
    expect(t.origin.hitsOn('/hit-for-miss')).toBe(6)
  })
})

describe('coalescing', () => {
  it.each([
    ['Vary', '/coalesce-vary', 'accept-language', 'fr', 'de'],
    ['route-key', '/tenant/coalesce', 'x-tenant', 'a', 'b'],
  ])("a coalesced waiter whose %s values differ from the leader's fetches its own variant", async (_kind, path, field, mine, other) => {
    t.origin.on(path, (r) => ({
      headers: { 'cache-control': 'max-age=60', ...(field === 'accept-language' ? { vary: 'accept-language' } : {}) },
      body: `for ${String(r.headers[field])}`,
    }))
    const open = t.origin.closeGate()
    const leader = t.get(path, { headers: { [field]: mine } })
    await until(() => t.origin.held === 1)
    const same = t.get(path, { headers: { [field]: mine } })
    const different = t.get(path, { headers: { [field]: other } })
    await until(() => waiting() === 2)
    open()
    const [l, s, d] = await Promise.all([leader, same, different])
    expect(l).toMatchObject({ status: 200, cacheStatus: 'MISS', body: `for ${mine}` })
    expect(s).toMatchObject({ status: 200, body: `for ${mine}` })
    expect(s.cacheStatusHeader).toContain('collapsed')
    expect(d).toMatchObject({ status: 200, body: `for ${other}` })
    expect(d.cacheStatusHeader).not.toContain('collapsed')
    expect(t.origin.seen.map((r) => r.headers[field])).toEqual([mine, other])
  })

  it("a waiter answers with its own stale copy (stale-if-error) when the leader gets a 503", async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/sie-waiter', (_r, n) =>
      n === 1 ? { headers: { 'cache-control': 'max-age=1, stale-if-error=60' }, body: 'good' } : { status: 503, body: 'down' },
    )
    await t.get('/sie-waiter')
    later(2_000)
    const open = t.origin.closeGate()
    const leader = t.get('/sie-waiter')
    await until(() => t.origin.held === 1)
    const waiter = t.get('/sie-waiter')
    await until(() => waiting() === 1)
    open()
    const [l, w] = await Promise.all([leader, waiter])
    expect(l).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
    expect(w).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
    expect(w.cacheStatusHeader).toMatch(/^corral; fwd=stale; fwd-status=503; ttl=-\d+; collapsed; detail=stale-if-error$/)
    expect(t.origin.hitsOn('/sie-waiter')).toBe(2)
  })
})

describe('stale serving', () => {
  it("sends the entry's validators with a stale-while-revalidate refresh", async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const lastModified = httpDate(Date.now() - 3_600_000)
    t.origin.on('/swr-validators', (r) =>
      r.headers['if-none-match'] === '"s1"'
        ? { status: 304, headers: { etag: '"s1"', 'cache-control': 'max-age=60' } }
        : { headers: { etag: '"s1"', 'last-modified': lastModified, 'cache-control': 'max-age=1, stale-while-revalidate=30' }, body: 'v1' },
    )
    await t.get('/swr-validators')
    later(1_500)
    expect(await t.get('/swr-validators')).toMatchObject({ cacheStatus: 'STALE', body: 'v1' })
    await settled()
    expect(t.origin.seen[1]?.headers).toMatchObject({ 'if-none-match': '"s1"', 'if-modified-since': lastModified })
    expect(await t.get('/swr-validators')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
    expect(t.origin.hitsOn('/swr-validators')).toBe(2)
  })

  it('leaves the entry in place when a stale-while-revalidate refresh fails', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/swr-fails', (_r, n) => {
      if (n === 1) return { headers: { 'cache-control': 'max-age=1, stale-while-revalidate=60' }, body: 'v1' }
      if (n === 2) return { hangUp: true }
      if (n === 3) return { status: 500, body: 'boom' }
      return { headers: { 'cache-control': 'max-age=60' }, body: `v${n}` }
    })
    await t.get('/swr-fails')
    later(1_500)
    for (let refresh = 2; refresh <= 4; refresh++) {
      expect(await t.get('/swr-fails'), `before refresh ${refresh}`).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'v1' })
      await settled()
      expect(t.origin.hitsOn('/swr-fails')).toBe(refresh)
    }
    expect(await t.get('/swr-fails')).toMatchObject({ cacheStatus: 'HIT', body: 'v4' })
  })

  it('validates an entry with unqualified no-cache first, then serves it stale on an origin failure only by its own stale-if-error', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/nc-sie-down', (_r, n) =>
      n === 1 ? { headers: { 'cache-control': 'no-cache, stale-if-error=60', etag: '"n"' }, body: 'kept' } : { hangUp: true },
    )
    t.origin.on('/nc-only', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'no-cache', etag: '"n"' }, body: 'kept' } : { status: 503, body: 'down' }))
    await t.get('/nc-sie-down')
    await t.get('/nc-only')
    later(1_000)
    const down = await t.get('/nc-sie-down')
    expect(down).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'kept' })
    expect(down.cacheStatusHeader).toContain('detail=stale-if-error')
    // without its own stale-if-error, no-cache forbids stale, even to a request's stale-if-error
    expect(await t.get('/nc-only', { headers: { 'cache-control': 'stale-if-error=600' } })).toMatchObject({ status: 503, body: 'down' })
    // both went to the origin to be validated first
    expect(t.origin.seen.map((r) => `${r.url} ${String(r.headers['if-none-match'])}`)).toEqual([
      '/nc-sie-down undefined',
      '/nc-only undefined',
      '/nc-sie-down "n"',
      '/nc-only "n"',
    ])
  })

  it('stale-if-error does not answer a 501 or a 505: they go through, and the entry stays for a 503', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/sie-5xx', (_r, n) => {
      if (n === 1) return { headers: { 'cache-control': 'max-age=1, stale-if-error=60' }, body: 'good' }
      if (n === 2) return { status: 501, body: 'not implemented' }
      if (n === 3) return { status: 505, body: 'version' }
      return { status: 503, body: 'down' }
    })
    await t.get('/sie-5xx')
    later(2_000)
    expect(await t.get('/sie-5xx')).toMatchObject({ status: 501, body: 'not implemented' })
    expect(await t.get('/sie-5xx')).toMatchObject({ status: 505, body: 'version' })
    const stale = await t.get('/sie-5xx')
    expect(stale).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
    expect(stale.cacheStatusHeader).toContain('fwd-status=503')
  })

  it('serves a stale entry to max-stale only when request max-age and min-fresh accept it too', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/ms-max-age', (_r, n) => ({ headers: { 'cache-control': 'max-age=2' }, body: `v${n}` }))
    t.origin.on('/ms-min-fresh', (_r, n) => ({ headers: { 'cache-control': 'max-age=2' }, body: `v${n}` }))
    await t.get('/ms-max-age')
    await t.get('/ms-min-fresh')
    later(10_000) // 10 s old, 8 s stale
    const cc = (value: string) => ({ headers: { 'cache-control': value } })
    expect(await t.get('/ms-max-age', cc('max-age=20, max-stale=60'))).toMatchObject({ cacheStatus: 'STALE', body: 'v1' })
    const tooOld = await t.get('/ms-max-age', cc('max-age=5, max-stale=60'))
    expect(tooOld).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
    expect(tooOld.cacheStatusHeader).toContain('fwd=request')
    expect(await t.get('/ms-min-fresh', cc('max-stale=60'))).toMatchObject({ cacheStatus: 'STALE', body: 'v1' })
    const notFreshEnough = await t.get('/ms-min-fresh', cc('min-fresh=1, max-stale=60'))
    expect(notFreshEnough).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
    expect(notFreshEnough.cacheStatusHeader).toContain('fwd=request')
  })
})

describe('on the wire', () => {
  it('does not forward hop-by-hop fields, fields named in Connection, Host or Expect on cacheable routes', async () => {
    t.origin.on('/hop-cache', { headers: { 'cache-control': 'max-age=60' }, body: 'hop' })
    const res = await exchange('/hop-cache', {
      headers: {
        host: 'client.example',
        connection: 'close, x-secret',
        'x-secret': 'named in Connection',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        trailer: 'x-checksum',
        'transfer-encoding': 'chunked',
        'proxy-connection': 'keep-alive',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        expect: '100-continue',
        'x-kept': 'yes',
      },
    })
    expect(res).toMatchObject({ status: 200, body: 'hop' })
    expect(res.headers['x-cache-status']).toBe('MISS')
    const seen = t.origin.seen[0]!.headers
    expect(seen.host).toBe(new URL(t.origin.url).host)
    expect(seen['x-forwarded-host']).toBe('client.example')
    expect(seen['x-kept']).toBe('yes')
    for (const name of ['x-secret', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'proxy-connection', 'proxy-authorization', 'expect']) {
      expect(seen[name], name).toBeUndefined()
    }
    expect(String(seen.connection ?? '')).not.toContain('x-secret')
  })

  it("sends corral's own errors with Cache-Control: no-store and Cache-Status fwd=miss or fwd=bypass, detail the error code", async () => {
    t.origin.on('/own-error', { hangUp: true })
    const miss = await t.get('/own-error')
    expect(miss).toMatchObject({ status: 502, cacheStatus: 'MISS' })
    expect(miss.headers['cache-control']).toBe('no-store')
    expect(miss.cacheStatusHeader?.toLowerCase()).toBe('corral; fwd=miss; detail=corral_err_origin_unreachable')
    const onlyIfCached = await t.get('/own-error-oic', { headers: { 'cache-control': 'only-if-cached' } })
    expect(onlyIfCached).toMatchObject({ status: 504, cacheStatus: 'MISS' })
    expect(onlyIfCached.headers['cache-control']).toBe('no-store')
    expect(onlyIfCached.cacheStatusHeader?.toLowerCase()).toBe('corral; fwd=miss; detail=corral_err_only_if_cached')
    const bypass = await t.get('/own-error', { method: 'POST', body: 'x' })
    expect(bypass).toMatchObject({ status: 502, cacheStatus: 'BYPASS' })
    expect(bypass.headers['cache-control']).toBe('no-store')
    expect(bypass.cacheStatusHeader?.toLowerCase()).toBe('corral; fwd=bypass; detail=corral_err_origin_unreachable')
  })

  it('drops a 103 without Link and every 1xx other than 102 and 103', async () => {
    await withRawOrigin(
      (socket) =>
        socket.end(
          'HTTP/1.1 103 Early Hints\r\nx-hint: no-link\r\n\r\n' +
            'HTTP/1.1 104 Upload Resumption Supported\r\nx-hint: 104\r\n\r\n' +
            'HTTP/1.1 199 Whatever\r\nx-hint: 199\r\n\r\n' +
            'HTTP/1.1 102 Processing\r\n\r\n' +
            'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload; as=style\r\nx-hint: linked\r\n\r\n' +
            'HTTP/1.1 200 OK\r\ncache-control: no-store\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok',
        ),
      async (_get, origin, url) => {
        const res = await exchange('/interim', {}, url)
        expect(res).toMatchObject({ status: 200, body: 'ok' })
        expect(res.interim.map((i) => [i.status, i.headers.link, i.headers['x-hint']])).toEqual([
          [102, undefined, undefined],
          [103, '</a.css>; rel=preload; as=style', 'linked'],
        ])
        expect(origin.hits()).toBe(1)
      },
    )
  })

  it.each(['GET', 'POST'])(
    '103 Link values: several members reach the client, a value node refuses is dropped, and the response still arrives (%s)',
    async (method) => {
      await withRawOrigin(
        (socket) =>
          socket.end(
            'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload; as=style, </b.js>; rel=preload; as=script\r\n\r\n' +
              'HTTP/1.1 103 Early Hints\r\nlink: </c.css>; rel=preload; title="two words"\r\n\r\n' +
              'HTTP/1.1 200 OK\r\ncache-control: no-store\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok',
          ),
        async (_get, _origin, url) => {
          const res = await exchange('/links', { method }, url)
          expect(res).toMatchObject({ status: 200, body: 'ok' })
          expect(res.interim.map((i) => [i.status, i.headers.link])).toEqual([
            [103, '</a.css>; rel=preload; as=style, </b.js>; rel=preload; as=script'],
          ])
        },
      )
    },
  )

  it.each(['GET', 'POST'])('sends no interim responses to an HTTP/1.0 client (RFC 9110 §15.2) (%s)', async (method) => {
    t.origin.on('/interim-10', { processing: true, earlyHints: { link: '</a.css>; rel=preload' }, headers: { 'cache-control': 'no-store' }, body: 'ok' })
    const { host, port } = new URL(base())
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), host.split(':')[0], () => socket.write(`${method} /interim-10 HTTP/1.0\r\nHost: ${host}\r\nContent-Length: 0\r\n\r\n`))
      let got = ''
      socket.on('data', (c: Buffer) => (got += c.toString('latin1')))
      socket.on('end', () => resolve(got))
      socket.on('error', reject)
    })
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 200 OK')
    expect(text).not.toContain(' 102 ')
    expect(text).not.toContain(' 103 ')
  })

  it('gives no interim responses to waiters, hits or background refreshes: only to the client whose request caused the fetch', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/hinted', (_r, n) => ({
      processing: true,
      earlyHints: { link: '</app.css>; rel=preload; as=style' },
      headers: { 'cache-control': 'max-age=1, stale-while-revalidate=60' },
      body: `v${n}`,
    }))
    const open = t.origin.closeGate()
    const leader = exchange('/hinted')
    await until(() => t.origin.held === 1)
    const waiter = exchange('/hinted')
    await until(() => waiting() === 1)
    open()
    const [l, w] = await Promise.all([leader, waiter])
    expect(l).toMatchObject({ status: 200, body: 'v1' })
    expect(l.interim.map((i) => i.status)).toEqual([102, 103])
    expect(w).toMatchObject({ status: 200, body: 'v1', interim: [] })
    expect(w.headers['cache-status']).toContain('collapsed')
    const hit = await exchange('/hinted')
    expect(hit).toMatchObject({ status: 200, body: 'v1', interim: [] })
    expect(hit.headers['x-cache-status']).toBe('HIT')
    later(1_500)
    const stale = await exchange('/hinted')
    expect(stale).toMatchObject({ status: 200, body: 'v1', interim: [] })
    expect(stale.headers['x-cache-status']).toBe('STALE')
    await settled()
    // the background refresh did reach the origin (and got hints there), and refreshed the entry
    expect(t.origin.hitsOn('/hinted')).toBe(2)
    expect(await exchange('/hinted')).toMatchObject({ body: 'v2', interim: [] })
  })

  it('adds no Via to responses, cached or passed through', async () => {
    t.origin.on('/no-via', { headers: { 'cache-control': 'max-age=60' }, body: 'v' })
    const miss = await t.get('/no-via')
    const hit = await t.get('/no-via')
    const passed = await t.get('/no-via', { method: 'POST', body: 'x' })
    expect([miss.cacheStatus, hit.cacheStatus, passed.cacheStatus]).toEqual(['MISS', 'HIT', 'BYPASS'])
    expect([miss.headers.via, hit.headers.via, passed.headers.via]).toEqual([undefined, undefined, undefined])
    // requests do carry it
    expect(t.origin.seen.map((r) => r.headers.via)).toEqual(['1.1 corral', '1.1 corral'])
  })

  it('drops Keep-Alive, TE, Trailer and the proxy fields both ways on the pass path', async () => {
    t.origin.on('/pass-hop', {
      chunks: 1, // chunked: node sends a Trailer field only with chunked encoding
      headers: {
        'keep-alive': 'timeout=99',
        trailer: 'x-checksum',
        'proxy-connection': 'keep-alive',
        'proxy-authenticate': 'Basic realm="origin"',
        'x-kept': 'yes',
      },
      body: 'passed',
    })
    const res = await exchange('/pass-hop', {
      method: 'POST',
      headers: {
        connection: 'close',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        trailer: 'x-checksum',
        'proxy-connection': 'keep-alive',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'x-kept': 'yes',
        'content-type': 'text/plain',
      },
      body: 'body',
    })
    expect(res).toMatchObject({ status: 200, body: 'passed' })
    expect(res.headers['x-cache-status']).toBe('BYPASS')
    expect(res.headers['x-kept']).toBe('yes')
    for (const name of ['keep-alive', 'trailer', 'proxy-connection', 'proxy-authenticate']) expect(res.headers[name], name).toBeUndefined()
    const seen = t.origin.seen[0]!
    expect(seen).toMatchObject({ method: 'POST', body: 'body' })
    expect(seen.headers['x-kept']).toBe('yes')
    for (const name of ['keep-alive', 'te', 'trailer', 'proxy-connection', 'proxy-authorization']) expect(seen.headers[name], name).toBeUndefined()
  })

  it('answers HEAD for a response that is not stored with the header section only, after a GET to the origin', async () => {
    t.origin.on('/head-private', { headers: { 'cache-control': 'private, max-age=60', 'content-type': 'text/plain', 'x-mine': 'yes' }, body: 'secret-body' })
    const res = await t.get('/head-private', { method: 'HEAD' })
    expect(res).toMatchObject({ status: 200, cacheStatus: 'MISS', body: '' })
    expect(res.headers['content-length']).toBe('11')
    expect(res.headers['x-mine']).toBe('yes')
    expect(res.headers['cache-control']).toBe('private, max-age=60')
    expect(t.origin.seen.map((r) => r.method)).toEqual(['GET'])
    // and nothing was stored
    expect(await t.get('/head-private', { method: 'HEAD' })).toMatchObject({ cacheStatus: 'MISS' })
    expect(t.origin.seen.map((r) => r.method)).toEqual(['GET', 'GET'])
  })
})
